/** `-o json` and `-o yaml`: the same plain data, two spellings. */
import { stringify } from "yaml";

/** Dates become ISO strings and unset fields disappear, exactly as JSON.stringify does. */
export function toPlain<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value));
}

export function formatStructured(value: unknown, format: "json" | "yaml"): string {
  const plain = toPlain(value);
  return format === "json" ? `${JSON.stringify(plain, null, 2)}\n` : stringify(plain);
}

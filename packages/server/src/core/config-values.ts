/** Flag value parsers shared by every entry point: whole numbers in a range and absolute paths. */
import { invalidArgument } from "@fast-sandbox/api";

/** `raw` as a whole number in [min, max], or `fallback` when unset; INVALID_ARGUMENT names `field`. */
export function intInRange(
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
  field: string,
): number {
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw invalidArgument(field, `"${raw}" is not a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw invalidArgument(field, `${value} is outside ${min}-${max}`);
  return value;
}

/** `p` if it is absolute; INVALID_ARGUMENT names `field` otherwise. */
export function absolutePath(p: string, field: string): string {
  if (!p.startsWith("/")) throw invalidArgument(field, `"${p}" must be an absolute path`);
  return p;
}

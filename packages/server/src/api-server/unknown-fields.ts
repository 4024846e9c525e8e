/** Finds a field number a binary request carries that its message does not define. */
import type { DescMessage, Message } from "@bufbuild/protobuf";
import { formatFieldPath } from "@fast-sandbox/api";
import type { JsonInputProblem } from "./json-input-check.ts";

/** Where an unknown field sits: `field` is the path of its number (`resources.9`), as names are unknown. */
export type UnknownFieldProblem = JsonInputProblem;

type Path = (string | number)[];

/**
 * The first unknown field in `message` or the messages it contains. The binary parser keeps unknown
 * fields (so a proxy can pass them on); for this API they are a client speaking a contract the
 * server does not have, refused as unknown JSON keys are. The walk follows the schema, whose depth
 * the parser already bounds (its recursion limit).
 */
export function findUnknownField(desc: DescMessage, message: Message): UnknownFieldProblem | undefined {
  return walk(desc, message, []);
}

function walk(desc: DescMessage, message: Message, path: Path): UnknownFieldProblem | undefined {
  const unknown = message.$unknown?.[0];
  if (unknown) {
    return {
      field: formatFieldPath("", [...path, String(unknown.no)]),
      description: `unknown field number ${unknown.no} is not allowed (${desc.typeName} has ${desc.fields
        .map((f) => `${f.number} ${f.jsonName}`)
        .join(", ")})`,
    };
  }
  const values = message as unknown as Record<string, unknown>;
  for (const field of desc.fields) {
    const value = field.oneof
      ? oneofValue(values[field.oneof.localName], field.localName)
      : values[field.localName];
    if (value === undefined || value === null) continue;
    const at = [...path, field.jsonName];
    let found: UnknownFieldProblem | undefined;
    if (field.fieldKind === "message") {
      found = walk(field.message, value as Message, at);
    } else if (field.fieldKind === "list" && field.listKind === "message") {
      for (const [index, item] of (value as Message[]).entries()) {
        found ??= walk(field.message, item, [...at, index]);
      }
    } else if (field.fieldKind === "map" && field.mapKind === "message") {
      for (const [key, item] of Object.entries(value as Record<string, Message>)) {
        found ??= walk(field.message, item, [...at, key]);
      }
    }
    if (found) return found;
  }
  return undefined;
}

/** A oneof holds `{ case, value }`; the value belongs to `localName` only while that is the case. */
function oneofValue(oneof: unknown, localName: string): unknown {
  const selected = oneof as { case?: string; value?: unknown } | undefined;
  return selected?.case === localName ? selected.value : undefined;
}

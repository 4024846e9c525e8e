/** Finds the field a JSON request fails on, so a refused request names it (protobuf-es only says what, not where). */
import {
  type DescEnum,
  type DescField,
  type DescMessage,
  fromJson,
  type JsonValue,
} from "@bufbuild/protobuf";
import { formatFieldPath } from "@fast-sandbox/api";

/** The first problem of a JSON request: the path of the field (as users write it) and what is wrong there. */
export interface JsonInputProblem {
  field: string;
  description: string;
}

type Path = (string | number)[];

/**
 * Walks `json` along the message `desc` and returns its first problem: a key the message does not
 * have, an enum name it does not know, or a value protobuf-es refuses. Keys are looked up by their
 * JSON and proto names, as the parser does. Well-known types (Timestamp, Struct, ...) and scalars
 * are checked by protobuf-es itself, one field at a time; the walk only descends into our own
 * messages, so its depth is that of the schema, never that of the request (a 100,000-deep array
 * under an unknown key stops at the key).
 *
 * Undefined means the walk found nothing (the request may still fail elsewhere, e.g. bad JSON).
 */
export function findJsonProblem(desc: DescMessage, json: unknown): JsonInputProblem | undefined {
  return checkMessage(desc, json, []);
}

function checkMessage(desc: DescMessage, json: unknown, path: Path): JsonInputProblem | undefined {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    return path.length ? problem(path, `expected an object (${desc.name}), got ${kindOf(json)}`) : undefined;
  }
  const oneofSeen = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    const field = desc.fields.find((f) => f.jsonName === key || f.name === key);
    if (!field) {
      return problem(
        [...path, key],
        `unknown field ${JSON.stringify(key)} is not allowed (${knownFields(desc)})`,
      );
    }
    if (field.oneof && value !== null) {
      const other = oneofSeen.get(field.oneof.name);
      if (other !== undefined) return problem([...path, key], `cannot be set together with ${other}`);
      oneofSeen.set(field.oneof.name, key);
    }
    const found = value === null ? undefined : checkField(desc, field, value, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

function checkField(
  desc: DescMessage,
  field: DescField,
  value: JsonValue,
  path: Path,
): JsonInputProblem | undefined {
  switch (field.fieldKind) {
    case "message":
      if (!isWellKnown(field.message)) return checkMessage(field.message, value, path);
      return checkLeaf(desc, field, value, path);
    case "enum":
      return checkEnum(field.enum, value, path) ?? checkLeaf(desc, field, value, path);
    case "list": {
      if (!Array.isArray(value)) return checkLeaf(desc, field, value, path);
      for (const [index, item] of value.entries()) {
        const at = [...path, index];
        const found =
          field.listKind === "message" && !isWellKnown(field.message)
            ? checkMessage(field.message, item, at)
            : field.listKind === "enum"
              ? (checkEnum(field.enum, item, at) ?? checkLeaf(desc, field, [item], at))
              : checkLeaf(desc, field, [item], at);
        if (found) return found;
      }
      return undefined;
    }
    case "map": {
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        return checkLeaf(desc, field, value, path);
      }
      for (const [key, item] of Object.entries(value)) {
        const at = [...path, key];
        const found =
          field.mapKind === "message" && !isWellKnown(field.message)
            ? checkMessage(field.message, item, at)
            : field.mapKind === "enum"
              ? (checkEnum(field.enum, item, at) ?? checkLeaf(desc, field, { [key]: item }, at))
              : checkLeaf(desc, field, { [key]: item }, at);
        if (found) return found;
      }
      return undefined;
    }
    default:
      return checkLeaf(desc, field, value, path);
  }
}

/** An enum given by name must be one of its names; numbers are left to the parser and the service. */
function checkEnum(desc: DescEnum, value: JsonValue, path: Path): JsonInputProblem | undefined {
  if (typeof value !== "string" || desc.values.some((v) => v.name === value)) return undefined;
  const names = desc.values.map((v) => v.name).join(", ");
  return problem(path, `${JSON.stringify(value)} is not one of ${names}`);
}

/** Lets protobuf-es parse just this one field of the message, strictly, and reports its complaint. */
function checkLeaf(
  desc: DescMessage,
  field: DescField,
  value: JsonValue,
  path: Path,
): JsonInputProblem | undefined {
  try {
    fromJson(desc, { [field.jsonName]: value }, { ignoreUnknownFields: false });
    return undefined;
  } catch (err) {
    return problem(path, leafReason(err));
  }
}

/**
 * protobuf-es wraps a field's complaint ("expected number, got ...") in "cannot decode field X from
 * JSON"; the complaint (its cause) is what a user needs, as the field travels apart. The position
 * it adds for the one-entry list or map checked here ("list item #1: ") would only mislead, and
 * a well-known type's "cannot decode message google.protobuf.Timestamp from JSON: " says no more
 * than the field, so both go.
 */
function leafReason(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const text = cause instanceof Error ? cause.message : String(cause);
  return text.replace(
    /^(list item #\d+: |map entry .*?: |cannot decode message google\.protobuf\.\w+ from JSON:? )/,
    "",
  );
}

function isWellKnown(desc: DescMessage): boolean {
  return desc.typeName.startsWith("google.protobuf.");
}

function knownFields(desc: DescMessage): string {
  return `${desc.typeName} has ${desc.fields.map((f) => f.jsonName).join(", ")}`;
}

function kindOf(json: unknown): string {
  if (json === null) return "null";
  if (Array.isArray(json)) return "an array";
  return typeof json === "string" ? "a string" : `a ${typeof json}`;
}

function problem(path: Path, description: string): JsonInputProblem {
  return { field: formatFieldPath("", path), description };
}

/**
 * Readers for fields of a YAML manifest: each checks one value's type and, on failure, throws a
 * FieldError whose path names the field (`spec.env[2].name`), as kubectl's strict decoding does.
 */

export type Mapping = Record<string, unknown>;

/** A problem with one field; nested readers prepend their part of the path (`spec.env[2].name`). */
export class FieldError extends Error {
  readonly field: string;
  readonly detail: string;

  constructor(field: string, detail: string) {
    super(/^(is|must) /.test(detail) ? `${field} ${detail}` : `${field}: ${detail}`);
    this.field = field;
    this.detail = detail;
  }

  /** The same problem seen from `parent`: `capacity.poolMin` under `spec` is `spec.capacity.poolMin`. */
  under(parent: string): FieldError {
    return new FieldError(joinPath(parent, this.field), this.detail);
  }
}

/** A key the schema does not have, as kubectl's strict decoding reports it: the full path and the known keys. */
export class UnknownFieldError extends FieldError {
  readonly known: readonly string[];

  constructor(field: string, known: readonly string[]) {
    super(field, "is not a known field");
    this.known = known;
    this.message = `unknown field ${field} (known: ${known.join(", ")})`;
  }

  override under(parent: string): FieldError {
    return new UnknownFieldError(joinPath(parent, this.field), this.known);
  }
}

export function required<T>(value: unknown, field: string, read: (v: unknown) => T): T {
  if (value === undefined || value === null || value === "") throw new FieldError(field, "is required");
  return optional(value, field, read)!;
}

export function optional<T>(value: unknown, field: string, read: (v: unknown) => T): T | undefined {
  if (value === undefined || value === null) return undefined;
  try {
    return read(value);
  } catch (err) {
    if (err instanceof FieldError) throw err.under(field);
    throw new FieldError(field, (err as Error).message);
  }
}

function joinPath(parent: string, child: string): string {
  return child.startsWith("[") ? parent + child : `${parent}.${child}`;
}

/** A YAML mapping; `field` names it in the message when no caller adds the path. */
export function mapping(value: unknown, field?: string): Mapping {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Date)
    throw new Error(field ? `${field} must be a mapping` : "must be a mapping");
  return value as Mapping;
}

/** Refuses a key that is not in `known`, naming it after `prefix` (`spec.`) and listing the known ones. */
export function knownKeys(map: Mapping, known: readonly string[], prefix = ""): void {
  const unknown = Object.keys(map).find((key) => !known.includes(key));
  if (unknown !== undefined) throw new UnknownFieldError(prefix + unknown, known);
}

/** A string; a number or boolean is taken as its text (YAML reads `1` and `true` as those). */
export function string(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new Error("must be a string");
}

export function stringList(value: unknown): string[] {
  if (!Array.isArray(value)) throw new Error('must be a list, like ["sh", "-c", "echo hi"]');
  return value.map((item, i) => optional(item, `[${i}]`, string) ?? "");
}

export function stringMap(value: unknown): Record<string, string> {
  const map = mapping(value);
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, optional(v, k, string) ?? ""]));
}

/** A whole number from `min` up (YAML gives numbers; a quoted "2" is refused, as kubectl does). */
export function wholeNumber(min = 0) {
  return (value: unknown): number => {
    if (typeof value !== "number" || !Number.isInteger(value)) throw new Error("must be a whole number");
    if (value < min) throw new Error(`must be ${min} or more`);
    return value;
  };
}

/** Drops unset keys, so "not in the file" never overrides anything when merged. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The yaml library's messages end their first line with ":" before a code excerpt. */
export function firstLine(text: string): string {
  return (text.split("\n")[0] ?? text).replace(/:$/, "");
}

/** Egress rules as written (`default`, `allow`, `deny`); their values are the server's to check, which names the field. */
export function egressRules(value: unknown): {
  default?: "allow" | "deny";
  allow?: string[];
  deny?: string[];
} {
  const map = mapping(value);
  knownKeys(map, ["default", "allow", "deny"]);
  return compact({
    default: optional(map.default, "default", string) as "allow" | "deny" | undefined,
    allow: optional(map.allow, "allow", stringList),
    deny: optional(map.deny, "deny", stringList),
  });
}

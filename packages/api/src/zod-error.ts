/** Turns zod validation failures into INVALID_ARGUMENT FsbErrors that name the offending field. */
import { z } from "zod";
import { ErrorCode, FsbError } from "./errors.ts";

/** One issue as zod reports it; the union is wide, so only the common shape is assumed. */
type Issue = z.core.$ZodIssue;

// A key that reads unambiguously after a dot; anything else (dots, spaces, quotes, control
// characters, empty) is bracketed and JSON-quoted.
const plainKey = /^[^\s.[\]"'\\\p{Cc}]+$/u;

/**
 * Renders a zod issue path under `prefix` the way users write field paths:
 * `formatFieldPath("sandbox", ["env", "FOO"])` is `sandbox.env.FOO`,
 * `formatFieldPath("sandbox", ["exposedPorts", 1])` is `sandbox.exposedPorts[1]`.
 * Keys that would be ambiguous after a dot are written as `["a.b"]`.
 */
export function formatFieldPath(prefix: string | undefined, path: readonly PropertyKey[]): string {
  let out = prefix ?? "";
  for (const segment of path) {
    if (typeof segment === "number") {
      out += `[${segment}]`;
    } else if (typeof segment === "string" && plainKey.test(segment)) {
      out += out === "" ? segment : `.${segment}`;
    } else {
      out += `[${typeof segment === "string" ? JSON.stringify(segment) : String(segment)}]`;
    }
  }
  return out;
}

/**
 * Converts the FIRST issue of `error` into an INVALID_ARGUMENT {@link FsbError}.
 * Its field is the issue path under `prefix`; with neither a prefix nor a path the field is left unset.
 * Messages written by our own schemas are kept; zod's generic defaults are reworded for users.
 */
export function fromZodError(error: z.ZodError, prefix?: string): FsbError {
  const issue = error.issues[0];
  if (issue === undefined) {
    return new FsbError(ErrorCode.InvalidArgument, "is invalid", {
      cause: error,
      field: prefix || undefined,
    });
  }
  const { path, message } = describe(issue, issue.path);
  const field = formatFieldPath(prefix, path);
  return new FsbError(ErrorCode.InvalidArgument, message, { cause: error, field: field || undefined });
}

/**
 * Parses `value` with `schema` and returns the output, or throws the INVALID_ARGUMENT
 * {@link FsbError} of the first issue, with its field rendered under `prefix`.
 */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, prefix?: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw fromZodError(result.error, prefix);
  return result.data;
}

interface Described {
  path: readonly PropertyKey[];
  message: string;
}

// Walks into issues that wrap other issues (record keys, unions) so the user sees the real cause.
function describe(issue: Issue, path: readonly PropertyKey[]): Described {
  switch (issue.code) {
    case "unrecognized_keys": {
      const quoted = issue.keys.map((key) => JSON.stringify(key));
      const message =
        quoted.length === 1
          ? `unknown field ${quoted[0]} is not allowed`
          : `unknown fields ${quoted.join(", ")} are not allowed`;
      return { path: issue.keys.length > 0 ? [...path, issue.keys[0]!] : path, message };
    }
    case "invalid_key":
    case "invalid_element": {
      const inner = issue.issues[0];
      if (inner === undefined) return { path, message: "is invalid" };
      return describe(inner, [...path, ...inner.path]);
    }
    case "invalid_union": {
      if (issue.inclusive === false) return { path, message: "matches more than one of the allowed forms" };
      // The branch that got furthest into the value before failing is the one the user meant.
      let best: Issue | undefined;
      for (const branch of issue.errors) {
        const first = branch[0];
        if (first !== undefined && first.path.length > (best?.path.length ?? 0)) best = first;
      }
      if (best === undefined) return { path, message: "does not match any of the allowed forms" };
      return describe(best, [...path, ...best.path]);
    }
    default:
      return { path, message: isDefaultMessage(issue) ? reword(issue) : issue.message };
  }
}

const defaultInvalidType = /^Invalid input: expected (\S+), received (\S+)$/;

// zod fills in a locale message only when no schema supplied one, so equality with it means "generic".
function isDefaultMessage(issue: Issue): boolean {
  if (issue.code === "invalid_type") return defaultInvalidType.test(issue.message);
  const localeError = z.config().localeError;
  if (localeError === undefined) return false;
  try {
    const fallback = localeError(issue as never);
    const text = typeof fallback === "string" ? fallback : fallback?.message;
    return text === issue.message;
  } catch {
    return false;
  }
}

const typeNames: Readonly<Record<string, string>> = {
  int: "integer",
  record: "object",
  nonoptional: "a value",
};

function reword(issue: Issue): string {
  switch (issue.code) {
    case "invalid_type": {
      const expected = typeNames[issue.expected] ?? issue.expected;
      const received = defaultInvalidType.exec(issue.message)?.[2] ?? "something else";
      if (received === "undefined") return `is required (expected ${expected})`;
      return `expected ${expected}, received ${received}`;
    }
    case "too_big":
      return bound(issue.origin, "most", issue.maximum, issue.inclusive !== false) ?? issue.message;
    case "too_small":
      return bound(issue.origin, "least", issue.minimum, issue.inclusive !== false) ?? issue.message;
    case "invalid_value":
      return issue.values.length === 1
        ? `must be ${show(issue.values[0])}`
        : `must be one of ${issue.values.map(show).join(", ")}`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    case "invalid_format":
      if (issue.format === "regex" && issue.pattern !== undefined) return `must match ${issue.pattern}`;
      return `must be a valid ${issue.format}`;
    default:
      return "is invalid";
  }
}

function bound(
  origin: string,
  side: "most" | "least",
  limit: number | bigint,
  inclusive: boolean,
): string | undefined {
  switch (origin) {
    case "string":
      if (side === "least" && Number(limit) === 1) return "must not be empty";
      return `must be at ${side} ${limit} characters long`;
    case "array":
    case "set":
      if (side === "least" && Number(limit) === 1) return "must not be empty";
      return `must have at ${side} ${limit} entries`;
    case "number":
    case "int":
    case "bigint":
      if (inclusive) return `must be at ${side} ${limit}`;
      return `must be ${side === "most" ? "less" : "greater"} than ${limit}`;
    default:
      return undefined;
  }
}

function show(value: unknown): string {
  return typeof value === "bigint" ? `${value}` : (JSON.stringify(value) ?? String(value));
}

/** Environment variables for a sandbox, in map form `{ K: V }` or list form `[{ name, value }]`. */
import { z } from "zod";
import { invalidArgument } from "./errors.ts";

/** Longest environment variable name. */
export const envNameMaxLength = 256;
/** Largest environment variable value in UTF-8 bytes; far larger values belong in a file. */
export const envValueMaxBytes = 32 * 1024;
/** Most environment variables one sandbox may set. */
export const envMaxEntries = 256;
/**
 * Most bytes the environment may take in all, counted as execve(2) does: `NAME=value` and its NUL
 * per variable. Linux allows argv and envp together a quarter of the stack limit (ARG_MAX, 2 MiB
 * with the usual 8 MiB stack); this and the command's limit (maxArgsTotalBytes) take half of it.
 */
export const envMaxTotalBytes = 256 * 1024;

/** Bytes `name=value` takes in a process's environment, with its terminating NUL. */
export function envEntryBytes(name: string, value: string): number {
  return Buffer.byteLength(name) + Buffer.byteLength(value) + 2;
}

function totalBytesProblem(entries: Iterable<readonly [string, string]>): string | undefined {
  let total = 0;
  for (const [name, value] of entries) total += envEntryBytes(name, value);
  if (total <= envMaxTotalBytes) return undefined;
  return `environment must take at most ${envMaxTotalBytes / 1024} KiB (${envMaxTotalBytes} bytes) as NAME=value strings (got ${total} bytes)`;
}

/** One entry of the list form. */
export interface EnvVar {
  name: string;
  value: string;
}

// POSIX portable names: what every shell and libc agrees is a variable name.
const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

function envNameProblem(name: string): string | undefined {
  if (name === "") return "environment variable name must not be empty";
  if (name.length > envNameMaxLength) {
    return `environment variable name must be at most ${envNameMaxLength} characters long (got ${name.length})`;
  }
  if (!envNamePattern.test(name)) {
    return `${JSON.stringify(name)} is not a valid environment variable name: use letters, digits and '_', not starting with a digit`;
  }
  return undefined;
}

function envValueProblem(value: string): string | undefined {
  // The kernel ends each environment string at the first NUL, so a NUL would silently truncate the value.
  if (value.includes("\0")) return "environment variable value must not contain a NUL character";
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > envValueMaxBytes) {
    return `environment variable value must be at most 32 KiB (${envValueMaxBytes} bytes) in UTF-8 (got ${bytes} bytes)`;
  }
  return undefined;
}

/** zod schema for an environment variable name: `[A-Za-z_][A-Za-z0-9_]*`, at most 256 characters. */
export const envNameSchema = z.string().superRefine((name, ctx) => {
  const problem = envNameProblem(name);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

/** zod schema for an environment variable value: any string without NUL, at most 32 KiB of UTF-8. */
export const envValueSchema = z.string().superRefine((value, ctx) => {
  const problem = envValueProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

const tooManyEntries = (count: number): string =>
  `must set at most ${envMaxEntries} environment variables (got ${count})`;

/** zod schema for the map form `{ "NAME": "value" }`; a bad name is reported at its own key. */
export const envMapSchema = z.record(envNameSchema, envValueSchema).superRefine((env, ctx) => {
  const count = Object.keys(env).length;
  if (count > envMaxEntries) ctx.addIssue({ code: "custom", message: tooManyEntries(count) });
  const tooLarge = totalBytesProblem(Object.entries(env));
  if (tooLarge !== undefined) ctx.addIssue({ code: "custom", message: tooLarge });
});

/**
 * zod schema for the list form `[{ name, value }]`, as in a Kubernetes container spec.
 * An omitted `value` means the empty string, as in Kubernetes; a repeated name is rejected at its second entry.
 */
export const envListSchema = z
  .array(z.strictObject({ name: envNameSchema, value: envValueSchema.default("") }))
  .max(envMaxEntries, {
    error: (issue) => tooManyEntries(Array.isArray(issue.input) ? issue.input.length : envMaxEntries + 1),
  })
  .superRefine((list, ctx) => {
    const duplicate = findDuplicate(list);
    if (duplicate !== undefined) {
      ctx.addIssue({ code: "custom", path: [duplicate.index, "name"], message: duplicate.message });
    }
    const tooLarge = totalBytesProblem(list.map(({ name, value }) => [name, value] as const));
    if (tooLarge !== undefined) ctx.addIssue({ code: "custom", message: tooLarge });
  });

function findDuplicate(list: readonly EnvVar[]): { index: number; message: string } | undefined {
  const firstIndex = new Map<string, number>();
  for (const [index, { name }] of list.entries()) {
    const earlier = firstIndex.get(name);
    if (earlier !== undefined) {
      return {
        index,
        message: `environment variable ${JSON.stringify(name)} is set twice (first at index ${earlier}); each name may appear once`,
      };
    }
    firstIndex.set(name, index);
  }
  return undefined;
}

/**
 * Converts the list form to the map form. A repeated name throws INVALID_ARGUMENT at
 * `${field}[i].name` rather than letting the last entry silently win.
 */
export function envListToMap(list: readonly EnvVar[], field = "env"): Record<string, string> {
  const duplicate = findDuplicate(list);
  if (duplicate !== undefined) throw invalidArgument(`${field}[${duplicate.index}].name`, duplicate.message);
  // fromEntries defines own properties, so a variable named __proto__ cannot reach the prototype.
  return Object.fromEntries(list.map(({ name, value }) => [name, value]));
}

/** Flag value parsers shared by every entry point: whole numbers in a range, absolute paths, API tokens. */
import { ErrorCode, FsbError, invalidArgument } from "@fast-sandbox/api";

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

/** The environment as a command reads it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Reads a whole file as text; injected so that config parsers stay pure for tests. */
export type ReadFile = (path: string) => string;

/** A bearer token from a file (which wins) or an environment value; blank counts as none. */
export function readToken(
  file: string | undefined,
  envValue: string | undefined,
  readFile: ReadFile,
): string | undefined {
  // Trimmed both ways: a Secret made from a file with a trailing newline reaches env vars with it.
  return (file ? readFile(file) : (envValue ?? "")).trim() || undefined;
}

/**
 * The token an API needs, read as {@link readToken}. Without one, only `insecure` lets the process
 * start: an open port that controls containers must be a deliberate choice.
 */
export function requireToken(
  options: { file: string | undefined; envName: string; insecure: boolean },
  env: Env,
  readFile: ReadFile,
): string | undefined {
  const token = readToken(options.file, env[options.envName], readFile);
  if (!token && !options.insecure) {
    throw new FsbError(
      ErrorCode.FailedPrecondition,
      `no API token: set ${options.envName} or --token-file (or pass --insecure for local development)`,
    );
  }
  return token;
}

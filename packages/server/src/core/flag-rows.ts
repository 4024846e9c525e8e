/** Rows of a flag table (flag-table.ts) for the kinds of value the entry points take. */
import { invalidArgument, isDnsLabel } from "@fast-sandbox/api";
import { bindAddress } from "./bind-address.ts";
import { absolutePath, intInRange } from "./config-values.ts";
import { parseDuration } from "./duration.ts";
import type { FlagRow } from "./flag-table.ts";
import { LOG_FORMATS, type LogFormat } from "./logger.ts";

/** What every row may add: environment variables, whom a bad one blames, a default shown in words. */
export interface RowOptions {
  env?: readonly string[];
  blameEnv?: boolean;
  /** The help's words for a default the caller works out itself (the row's value is then undefined). */
  shows?: string;
}

/** A row's value: its parsed type, or that or undefined when the row has no default. */
type Value<T, O> = O extends { default: unknown } ? T : T | undefined;

/**
 * A row whose text goes through `parse`; a `default` is parsed the same way when neither the flag nor
 * the environment gives a value.
 */
export function flag<T, O extends RowOptions & { default?: string }>(
  arg: string,
  help: string,
  parse: (raw: string, field: string) => T,
  options?: O,
): FlagRow<Value<T, O>> {
  const fallback = options?.default;
  return {
    arg,
    help,
    env: options?.env,
    blameEnv: options?.blameEnv,
    shows: options?.shows ?? fallback,
    parse: (raw, field) => {
      const text = raw ?? fallback;
      return (text === undefined ? undefined : parse(text, field)) as Value<T, O>;
    },
  };
}

/** A row maker for values that `parse` checks as they are given: (placeholder, help, options) → row. */
type RowMaker<T> = <O extends RowOptions & { default?: string }>(
  arg: string,
  help: string,
  options?: O,
) => FlagRow<Value<T, O>>;

function rowsOf<T>(parse: (raw: string, field: string) => T): RowMaker<T> {
  return (arg, help, options) => flag(arg, help, parse, options);
}

/** Any text, as given. */
export const text: RowMaker<string> = rowsOf((raw) => raw);

/** An absolute path. */
export const absolute: RowMaker<string> = rowsOf(absolutePath);

/** A DNS-1123 label (the names of Kubernetes objects and of agents). */
export const label: RowMaker<string> = rowsOf(dnsLabel);

/** `raw` if it is a DNS-1123 label; INVALID_ARGUMENT names `field` otherwise. */
export function dnsLabel(raw: string, field: string): string {
  if (!isDnsLabel(raw)) throw invalidArgument(field, `"${raw}" must be a DNS-1123 label`);
  return raw;
}

/** `[host]:port`. */
export function address(help: string, options: { default: string }): FlagRow<ReturnType<typeof bindAddress>> {
  return flag("ADDR", help, bindAddress, options);
}

/** A Go-style duration (`500ms`, `10s`, `1h30m`) as milliseconds, at least `atLeastMs` when given. */
export function duration(help: string, options: { default: string; atLeastMs?: number }): FlagRow<number> {
  const { atLeastMs } = options;
  return flag(
    "D",
    help,
    (raw, field) => {
      const ms = parseDuration(raw, field);
      if (atLeastMs !== undefined && ms < atLeastMs) {
        throw invalidArgument(field, `must be at least ${atLeastMs} ms`);
      }
      return ms;
    },
    options,
  );
}

/**
 * A whole number in [min, max]; an empty value counts as none. Without a `default` the value is
 * undefined when none is given.
 */
export function int<O extends RowOptions & { default?: number; min: number; max: number }>(
  arg: string,
  help: string,
  options: O,
): FlagRow<Value<number, O>> {
  const { min, max, default: fallback } = options;
  return {
    arg,
    help,
    env: options.env,
    blameEnv: options.blameEnv,
    shows: options.shows ?? (fallback === undefined ? undefined : String(fallback)),
    range: `${min}-${max}`,
    parse: (raw, field) => {
      if (fallback === undefined && (raw === undefined || raw === "")) return undefined as Value<number, O>;
      return intInRange(raw, fallback ?? min, min, max, field);
    },
  };
}

/** One of `choices`; anything else is INVALID_ARGUMENT saying `"x" is not <expected>`. */
export function choice<C extends string, O extends RowOptions & { default?: C }>(
  arg: string,
  help: string,
  choices: readonly C[],
  expected: string,
  options?: O,
): FlagRow<Value<C, O>> {
  return flag(
    arg,
    help,
    (raw, field) => {
      const found = choices.find((c) => c === raw);
      if (found === undefined) throw invalidArgument(field, `"${raw}" is not ${expected}`);
      return found;
    },
    options,
  );
}

/** An http(s) URL; with `blankIsUnset`, an empty value counts as none. */
export function httpUrl(
  help: string,
  options: { env?: readonly string[]; blankIsUnset?: boolean },
): FlagRow<string | undefined> {
  return {
    arg: "URL",
    help,
    env: options.env,
    parse: (raw, field) => {
      if (raw === undefined || (options.blankIsUnset && raw === "")) return undefined;
      if (!/^https?:\/\/[^/]+/.test(raw)) throw invalidArgument(field, `"${raw}" is not an http(s) URL`);
      return raw;
    },
  };
}

/** A switch: true when given. */
export function toggle(help: string): FlagRow<boolean> {
  return { help, parse: (raw) => raw !== undefined };
}

/** pino's level names; anything else would make pino throw with a stack at start-up. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** --log-level (env LOG_LEVEL), the same row in every entry point. */
export function logLevel(): FlagRow<LogLevel> {
  return choice("LEVEL", "log level", LOG_LEVELS, `one of ${LOG_LEVELS.join(", ")}`, {
    env: ["LOG_LEVEL"],
    default: "info",
  });
}

/** --log-format (env LOG_FORMAT), the same row in every entry point. */
export function logFormat(): FlagRow<LogFormat> {
  return choice(
    "FORMAT",
    "log lines: auto (readable text on a terminal, coloured unless NO_COLOR; JSON anywhere else), json or text",
    LOG_FORMATS,
    "auto, json or text",
    { env: ["LOG_FORMAT"], default: "auto" },
  );
}

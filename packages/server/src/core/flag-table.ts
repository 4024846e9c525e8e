/**
 * Command lines from a declarative table: one row a flag (name, placeholder, environment, default,
 * parser, help), from which come both the strict parsing of argv and the `--help` text.
 */
import { parseArgs } from "node:util";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import type { Env } from "./config-values.ts";

/** One flag. The table's key is its name without the dashes. */
export interface FlagRow<T> {
  /** How the help shows the value (PATH, N, D); a row without one is a switch, true when given. */
  readonly arg?: string;
  /** What the flag does, for the help. */
  readonly help: string;
  /** Environment variables read in order when the flag is absent. */
  readonly env?: readonly string[];
  /** A bad value from the environment is blamed on the variable, not on the flag. */
  readonly blameEnv?: boolean;
  /** The default as the help states it (absent: none stated). */
  readonly shows?: string;
  /** The range the help states, such as `1-65535`. */
  readonly range?: string;
  /**
   * The value from its text (undefined: given nowhere); throws INVALID_ARGUMENT naming `field`, which
   * is the flag (`--name`), or the environment variable for a `blameEnv` row whose value came from one.
   */
  readonly parse: (raw: string | undefined, field: string) => T;
}

export type FlagTable = Readonly<Record<string, FlagRow<unknown>>>;

/** What a table parses to: each key's value, typed by its row. */
export type FlagValues<T extends FlagTable> = {
  readonly [K in keyof T]: T[K] extends FlagRow<infer V> ? V : never;
};

export type ReadFlags<T extends FlagTable> = { help: true } | { help: false; values: FlagValues<T> };

/** A command line parsed: a configuration, or a request for help with the text to print. */
export type ParsedArgs<C> = { help: true; usage: string } | { help: false; config: C };

/** A command's flag table and the `--help` made from it. */
export interface FlagCommand<T extends FlagTable> {
  table: T;
  usage: string;
}

/** The text of `--help` before and after the table's rows. */
export interface UsageText {
  /** The usage line, a blank line and what the command does. */
  head: string;
  /** Anything after the rows, such as notes on the environment. */
  tail?: string;
}

/** Lines of the help are wrapped to this width. */
const HELP_WIDTH = 110;
const HELP_ROW = { name: "-h, --help", help: "show this help" };

/**
 * Parses `argv` strictly (no positionals, no unknown flags; `-h/--help` always accepted). A bad
 * command line is INVALID_ARGUMENT whose message ends with `usage`, so every entry point explains
 * itself the same way. Each value is parsed when first read and then kept, so a caller that never
 * reads a flag (one that matters only beside another) never has it checked, and errors come in the
 * order the caller reads values.
 */
export function readFlags<T extends FlagTable>(
  table: T,
  argv: readonly string[],
  env: Env,
  usage: string,
): ReadFlags<T> {
  const given = parseArgv(table, argv, usage);
  if (given.help === true) return { help: true };
  const values: Record<string, unknown> = {};
  for (const [name, row] of Object.entries(table)) {
    let read: { value: unknown } | undefined;
    Object.defineProperty(values, name, {
      enumerable: true,
      get: () => {
        read ??= { value: readOne(name, row, given[name], env) };
        return read.value;
      },
    });
  }
  return { help: false, values: values as FlagValues<T> };
}

/** A command from its table; `head` is the usage line, a blank line and what the command does. */
export function flagCommand<T extends FlagTable>(head: string, table: T): FlagCommand<T> {
  return { table, usage: flagUsage({ head }, table) };
}

/** Reads `argv` (and `env`) against the command's table and, unless help was asked for, builds the configuration. */
export function parseCommandLine<T extends FlagTable, C>(
  command: FlagCommand<T>,
  argv: readonly string[],
  env: Env,
  build: (values: FlagValues<T>) => C,
): ParsedArgs<C> {
  const parsed = readFlags(command.table, argv, env, command.usage);
  return parsed.help ? { help: true, usage: command.usage } : { help: false, config: build(parsed.values) };
}

/** The whole `--help`: `head`, the table's rows (and -h/--help) under "Flags:", then `tail`. */
export function flagUsage(text: UsageText, table: FlagTable): string {
  const rows = [
    ...Object.entries(table).map(([name, row]) => ({
      name: row.arg === undefined ? `--${name}` : `--${name} ${row.arg}`,
      help: row.help + notes(row),
    })),
    HELP_ROW,
  ];
  const column = Math.max(...rows.map((r) => r.name.length)) + 3;
  const lines = rows.flatMap((r) => wrap(r.help, HELP_WIDTH - column).map((line, i) => ({ line, i, r })));
  const body = lines
    .map(({ line, i, r }) => `  ${(i === 0 ? r.name : "").padEnd(column - 2)}${line}`.trimEnd())
    .join("\n");
  return `${text.head}\n\nFlags:\n${body}\n${text.tail === undefined ? "" : `\n${text.tail}\n`}`;
}

function parseArgv(
  table: FlagTable,
  argv: readonly string[],
  usage: string,
): Record<string, string | boolean | undefined> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, row] of Object.entries(table)) {
    options[name] = { type: row.arg === undefined ? "boolean" : "string" };
  }
  try {
    return parseArgs({ args: [...argv], strict: true, allowPositionals: false, options }).values;
  } catch (err) {
    throw new FsbError(ErrorCode.InvalidArgument, `${(err as Error).message}\n\n${usage}`, { cause: err });
  }
}

function readOne(
  name: string,
  row: FlagRow<unknown>,
  given: string | boolean | undefined,
  env: Env,
): unknown {
  const field = `--${name}`;
  if (row.arg === undefined) return row.parse(given === true ? "true" : undefined, field);
  if (typeof given === "string") return row.parse(given, field);
  const from = row.env?.find((variable) => env[variable] !== undefined);
  if (from === undefined) return row.parse(undefined, field);
  return row.parse(env[from], row.blameEnv ? from : field);
}

/** `(env A or B; default D; 1-9)`: where else the value may come from, and what it is without one. */
function notes(row: FlagRow<unknown>): string {
  const parts = [
    row.env?.length ? `env ${row.env.join(" or ")}` : undefined,
    row.shows === undefined ? undefined : `default ${row.shows}`,
    row.range,
  ].filter((p) => p !== undefined);
  return parts.length === 0 ? "" : ` (${parts.join("; ")})`;
}

/** `text` in lines of at most `width` characters, broken between words (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}

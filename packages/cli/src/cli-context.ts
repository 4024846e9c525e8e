/** What every command gets: the process's streams and environment, the global flags, and an SDK client. */
import os from "node:os";
import { FastSandbox } from "@fast-sandbox/sdk";
import type { Command } from "commander";
import { UsageError } from "./cli-error.ts";
import { outputFormat } from "./output-format.ts";
import { createStyle, type Style } from "./style.ts";

/** The outside world; `process` in production, something smaller in a unit test. */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  home: string;
  /** The arguments after the program name, as typed (`run` finds its `-- CMD ARGS` here). */
  args: string[];
}

/** The flags every command accepts. */
export interface GlobalOptions {
  endpoint?: string;
  token?: string;
  namespace?: string;
  context?: string;
  output?: string;
}

export interface CliContext {
  readonly io: CliIo;
  globals(command: Command): GlobalOptions;
  /** A client configured from the flags, then env, then the config files. */
  client(command: Command): FastSandbox;
  /** Colours for stdout, off for `-o json`, pipes and NO_COLOR. */
  style(command: Command): Style;
  /** Whether stdout is a terminal that may show a spinner. */
  interactive(command: Command): boolean;
  print(text: string): void;
}

export function processIo(): CliIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    home: os.homedir(),
    args: process.argv.slice(2),
  };
}

export function createCliContext(io: CliIo): CliContext {
  const globals = (command: Command) => command.optsWithGlobals<GlobalOptions>();
  return {
    io,
    globals,
    client(command) {
      const { endpoint, token, namespace, context } = globals(command);
      try {
        return new FastSandbox({ endpoint, token, namespace, context });
      } catch (err) {
        // Config resolution fails on an unknown --context or a broken config file: invalid input.
        throw new UsageError((err as Error).message, "see `fsb-ctl config view`");
      }
    },
    style: (command) => createStyle(io.stdout, io.env, outputFormat(command)),
    interactive: (command) => io.stdout.isTTY === true && outputFormat(command) !== "json",
    print: (text) => void io.stdout.write(text),
  };
}

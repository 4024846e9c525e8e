/** The global `-o/--output` flag: each command declares the formats it prints, and others are refused. */
import type { Command } from "commander";
import { UsageError } from "./cli-error.ts";

export type OutputFormat = "json" | "yaml" | "wide" | "name";

const declared = new WeakMap<Command, readonly OutputFormat[]>();

/** Records which `-o` formats `command` supports (besides its default text). */
export function declareOutputs(command: Command, formats: readonly OutputFormat[]): Command {
  declared.set(command, formats);
  return command;
}

/** The `-o` value for `command`, refusing one it does not print (so `-o` is never silently ignored). */
export function outputFormat(command: Command): OutputFormat | undefined {
  const value = command.optsWithGlobals<{ output?: string }>().output;
  if (value === undefined) return undefined;
  const formats = declared.get(command) ?? [];
  const path = commandPath(command);
  if (formats.length === 0)
    throw new UsageError(`${path} does not take -o/--output`, `see \`${path} --help\``);
  if (!formats.includes(value as OutputFormat))
    throw new UsageError(`${path} cannot print "-o ${value}"`, `use -o ${formats.join(", -o ")}`);
  return value as OutputFormat;
}

/** `fsb-ctl config set`, for messages. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

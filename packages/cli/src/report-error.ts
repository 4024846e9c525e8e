/** Turns whatever a command threw into one `Error:` line, a `hint:` line, and the exit code. */
import { FastSandboxError } from "@fast-sandbox/sdk";
import { CommanderError } from "commander";
import { CliError, ExitCode, exitCodeOf, SilentExit } from "./cli-error.ts";
import { createStyle } from "./style.ts";

export interface ErrorReport {
  message: string;
  hint: string | undefined;
  exitCode: number;
}

/** `command` is the top-level command that ran (for a usage hint), if any. */
export function describeError(err: unknown, command: string | undefined): ErrorReport {
  const usageHint = `see \`fsb-ctl ${command ? `${command} ` : ""}--help\``;
  if (err instanceof CommanderError) {
    // Commander's messages start with "error: " and put a suggestion on a second line.
    const [first = "", ...rest] = err.message.replace(/^error: /, "").split("\n");
    const suggestion = /\(Did you mean (.+)\?\)/.exec(rest.join(" "))?.[1];
    return {
      message: first,
      hint: suggestion ? `did you mean ${suggestion}?` : usageHint,
      exitCode: ExitCode.invalidInput,
    };
  }
  if (err instanceof CliError) return { message: err.message, hint: err.hint, exitCode: err.exitCode };
  if (err instanceof FastSandboxError)
    return { message: err.message, hint: err.hint, exitCode: exitCodeOf(err) };
  return {
    message: err instanceof Error ? err.message : String(err),
    hint: undefined,
    exitCode: exitCodeOf(err),
  };
}

/** Writes the report; with FSB_DEBUG set, also the stack, for bugs in fsb-ctl itself. */
export function reportError(
  err: unknown,
  command: string | undefined,
  stderr: NodeJS.WritableStream & { isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>>,
): number {
  // Help and --version arrive as "errors" too; commander has already printed them.
  if (err instanceof CommanderError && (err.exitCode === 0 || err.code === "commander.help")) {
    return exitCodeOf(err);
  }
  if (err instanceof SilentExit) return err.exitCode;
  const { message, hint, exitCode } = describeError(err, command);
  const style = createStyle(stderr, env);
  stderr.write(`${style.red("Error:")} ${oneLine(message)}\n`);
  if (hint) stderr.write(`${style.dim(`hint: ${oneLine(hint)}`)}\n`);
  if (env.FSB_DEBUG && err instanceof Error && err.stack) stderr.write(`${err.stack}\n`);
  return exitCode;
}

function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, "; ");
}

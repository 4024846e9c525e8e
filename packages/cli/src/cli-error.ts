/** Errors the CLI raises itself, the exit code of any error, and the hint it prints. */
import { FastSandboxError } from "@fast-sandbox/sdk";
import { CommanderError } from "commander";

/**
 * Exit codes: 0 success; 2 invalid input, whether fsb-ctl or the server caught it (a bad flag,
 * argument, manifest or config file, or an INVALID_ARGUMENT answer); 1 every other failure.
 */
export const ExitCode = { ok: 0, failure: 1, invalidInput: 2 } as const;

/** A failure to report as `Error: <message>` plus an optional `hint:` line. */
export class CliError extends Error {
  override name = "CliError";
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; exitCode?: number } = {}) {
    super(message);
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.failure;
  }
}

/** Ends fsb-ctl with `exitCode` and prints nothing: `exec` passing on its process's exit code. */
export class SilentExit extends CliError {
  override name = "SilentExit";

  constructor(exitCode: number) {
    super(`exit ${exitCode}`, { exitCode });
  }
}

/** Input that cannot be used as given (a bad flag value, a missing argument, an invalid manifest). */
export class UsageError extends CliError {
  override name = "UsageError";

  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.invalidInput, ...(hint ? { hint } : {}) });
  }
}

/** The exit code for `err`, by the rule of {@link ExitCode}. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.ok : ExitCode.invalidInput;
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof FastSandboxError && err.code === "invalid_argument") return ExitCode.invalidInput;
  return ExitCode.failure;
}

/** One exit code for several failures: invalid input only when every one of them was. */
export function exitCodeOfAll(errors: readonly unknown[]): number {
  const codes = errors.map(exitCodeOf);
  return codes.length > 0 && codes.every((c) => c === ExitCode.invalidInput)
    ? ExitCode.invalidInput
    : ExitCode.failure;
}

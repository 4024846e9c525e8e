/** Errors the CLI raises itself, with the exit code and the hint it prints. */

/** Exit codes: 0 success, 1 a failed operation, 2 a command line that cannot be run as given. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

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

/** A command line that cannot be run as given (a bad flag value, a missing argument). */
export class UsageError extends CliError {
  override name = "UsageError";

  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, ...(hint ? { hint } : {}) });
  }
}

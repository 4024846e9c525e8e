/**
 * fsb-ctl's main: runs one command and exits with its code (0 success, 2 invalid input, 1 any other
 * failure: see ExitCode).
 * commander is pinned to 14.0.3: 15 needs Node >= 22.12, and `npm ci` runs on the system's Node 20.
 */
import { createCliContext, processIo } from "./cli-context.ts";
import { buildProgram } from "./program.ts";
import { reportError } from "./report-error.ts";

export async function main(): Promise<never> {
  const io = processIo();
  const program = buildProgram(createCliContext(io));

  // A reader that goes away (`fsb-ctl logs -f | head`) is not a failure.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    process.exit(err.code === "EPIPE" ? 0 : 1);
  });

  let code = 0;
  if (io.args.length === 0) {
    program.command.outputHelp();
  } else {
    try {
      await program.command.parseAsync(io.args, { from: "user" });
    } catch (err) {
      code = reportError(err, program.activeCommand(), io.stderr, io.env);
    }
  }
  // Exit now: keep-alive connections of the client would otherwise hold the process for seconds.
  process.exit(code);
}

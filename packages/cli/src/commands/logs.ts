/** `fsb-ctl logs NAME`: a sandbox's output, through the controller's log stream. */
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { completeSandboxNames } from "../completion-script.ts";
import { withExamples } from "../examples.ts";
import { flagParser, parseCount } from "../flag-parser.ts";
import { interruptSignal } from "../interrupt.ts";

interface LogsFlags {
  follow?: boolean;
  tail?: number;
}

export function registerLogs(program: Command, ctx: CliContext): void {
  const command = program
    .command("logs")
    .summary("print a sandbox's output")
    .description(
      "Print a sandbox's output (stdout and stderr as written). With --follow it keeps streaming " +
        "until the process exits or Ctrl-C, which exits cleanly.",
    )
    .argument("<name>", "the sandbox")
    .option("-f, --follow", "keep streaming new output")
    .option("--tail <lines>", "start this many lines before the end", flagParser(parseCount));
  completeSandboxNames(command);
  withExamples(command, [
    ["fsb-ctl logs hello", "everything so far"],
    ["fsb-ctl logs hello -f --tail 20", "the last 20 lines, then new output as it comes"],
  ]);
  command.action(async (name: string, flags: LogsFlags, cmd: Command) => {
    const client = ctx.client(cmd);
    const logs = client.logs(name, {
      follow: flags.follow === true,
      ...(flags.tail !== undefined ? { tailLines: flags.tail } : {}),
      signal: interruptSignal(),
    });
    for await (const text of logs) ctx.print(text);
  });
}

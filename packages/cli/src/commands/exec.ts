/** `fsb-ctl exec NAME -- CMD...`: run a command in a sandbox, with its output, input and terminal, and exit with its code. */
import type { ProcessHandle } from "@fast-sandbox/sdk";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { SilentExit, UsageError } from "../cli-error.ts";
import { completeSandboxNames } from "../completion-script.ts";
import { parseDuration } from "../duration.ts";
import { withExamples } from "../examples.ts";
import { followResizes, forwardSignals, pipeStdin, rawMode, terminalSize } from "../exec-session.ts";
import { flagParser } from "../flag-parser.ts";
import { collectKeyValues } from "../key-value.ts";

interface ExecFlags {
  interactive?: boolean;
  tty?: boolean;
  env?: Record<string, string>;
  workdir?: string;
  user?: string;
  timeout?: number;
}

export function registerExec(program: Command, ctx: CliContext): void {
  const command = program
    .command("exec")
    .summary("run a command in a sandbox")
    .description(
      "Run a command in a running sandbox, stream its output (stdout to stdout, stderr to stderr) " +
        "and exit with its exit code. -i sends stdin to it; -t runs it in a terminal: the local " +
        "terminal goes to raw mode (Ctrl-C reaches the process as a key, as with docker exec -it), " +
        "follows resizes, and is restored on exit. Without -t, Ctrl-C is sent to the process as SIGINT.",
    )
    .argument("<name>", "the sandbox")
    .argument("<command...>", "after --: the command and its arguments")
    .option("-i, --interactive", "send stdin to the process")
    .option("-t, --tty", "run the process in a terminal")
    .option("-e, --env <KEY=VALUE>", "set an environment variable (repeatable)", collectKeyValues("KEY"))
    .option("-w, --workdir <dir>", "working directory inside the sandbox")
    .option("-u, --user <user>", "user to run as: uid, uid:gid, or a name from the image")
    .option(
      "--timeout <duration>",
      "kill the process after this long (such as 30s, 5m)",
      flagParser(parseDuration),
    );
  completeSandboxNames(command);
  withExamples(command, [
    ["fsb-ctl exec web -- ls -l /", "run a command, print its output, exit with its code"],
    ["fsb-ctl exec -it web -- sh", "an interactive shell"],
    ["echo hi | fsb-ctl exec -i web -- cat", "send stdin"],
    ["fsb-ctl exec -e DEBUG=1 -w /tmp -u nobody web -- env", "with env, working directory and user"],
  ]);
  command.action((name: string, argv: string[], flags: ExecFlags, cmd: Command) =>
    execCommand(ctx, name, argv, flags, cmd),
  );
}

async function execCommand(
  ctx: CliContext,
  name: string,
  argv: string[],
  flags: ExecFlags,
  cmd: Command,
): Promise<void> {
  if (ctx.io.args.indexOf("--") < 0) {
    throw new UsageError("put the command after --", `as in \`fsb-ctl exec ${name} -- ${argv.join(" ")}\``);
  }
  const tty = flags.tty === true;
  const size = tty ? (terminalSize(ctx.io) ?? { cols: 80, rows: 24 }) : undefined;
  const box = await ctx.client(cmd).sandboxes.get(name);
  const handle = await box.processes.open(
    argv,
    {
      ...(flags.env ? { env: flags.env } : {}),
      ...(flags.workdir ? { cwd: flags.workdir } : {}),
      ...(flags.user ? { user: flags.user } : {}),
      ...(flags.timeout ? { timeoutMs: flags.timeout } : {}),
      ...(flags.interactive || tty ? { stdin: true } : {}),
      ...(size ? { tty: true, ...size } : {}),
    },
    {
      stdout: (data) => void ctx.io.stdout.write(data),
      stderr: (data) => void ctx.io.stderr.write(data),
    },
  );
  const exitCode = await session(ctx, handle, flags.interactive === true, tty);
  if (exitCode !== 0) throw new SilentExit(exitCode);
}

/** Connects the local terminal to the process until it exits; returns its exit code. */
async function session(
  ctx: CliContext,
  handle: ProcessHandle,
  interactive: boolean,
  tty: boolean,
): Promise<number> {
  const undo: Array<() => void> = [];
  const stop = new AbortController();
  try {
    if (tty) {
      if (interactive) undo.push(rawMode(ctx.io));
      undo.push(followResizes(ctx.io, handle));
    } else {
      undo.push(forwardSignals(handle));
    }
    if (interactive) void pipeStdin(ctx.io, handle, stop.signal);
    const exit = await handle.wait();
    return exit.exitCode;
  } finally {
    stop.abort();
    for (const u of undo.reverse()) u();
    // stdin may still be open (a terminal): let the process end without waiting for a key.
    (ctx.io.stdin as { pause?: () => void }).pause?.();
  }
}

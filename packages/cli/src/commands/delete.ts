/** `fsb-ctl delete` (`rm`): delete one or more sandboxes, optionally waiting until they are gone. */
import { NotFoundError } from "@fast-sandbox/sdk";
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { CliError, exitCodeOfAll } from "../cli-error.ts";
import { completeSandboxNames } from "../completion-script.ts";
import { parseSeconds } from "../duration.ts";
import { withExamples } from "../examples.ts";
import { flagParser } from "../flag-parser.ts";
import { withSpinner } from "../spinner.ts";

/** A delete with --wait stops the container first: grace period plus teardown, well under this. */
const WAIT_TIMEOUT_MS = 120_000;

interface DeleteFlags {
  wait?: boolean;
  gracePeriod?: number;
  ignoreNotFound?: boolean;
}

export function registerDelete(program: Command, ctx: CliContext): void {
  const command = program
    .command("delete")
    .alias("rm")
    .summary("delete sandboxes")
    .description(
      "Delete sandboxes: SIGTERM, the grace period, then SIGKILL. Several names are deleted at once; " +
        "the command fails if any of them could not be deleted.",
    )
    .argument("<names...>", "the sandboxes")
    .option("--wait", "return once each sandbox is gone, not when its deletion starts")
    .option(
      "--grace-period <seconds>",
      "time between SIGTERM and SIGKILL (default: the server's)",
      flagParser(parseSeconds),
    )
    .option("--ignore-not-found", "treat a sandbox that does not exist as deleted");
  completeSandboxNames(command);
  withExamples(command, [
    ["fsb-ctl rm hello", "start deleting hello"],
    [
      "fsb-ctl rm web worker --wait --grace-period 0",
      "kill two sandboxes at once and wait until both are gone",
    ],
    ["fsb-ctl ls -o name | xargs fsb-ctl rm --wait", "delete every sandbox of the namespace"],
  ]);
  command.action(async (names: string[], flags: DeleteFlags, cmd: Command) => {
    const client = ctx.client(cmd);
    const options = {
      wait: flags.wait === true,
      ...(flags.gracePeriod !== undefined ? { gracePeriodSeconds: flags.gracePeriod } : {}),
      ...(flags.wait ? { timeoutMs: WAIT_TIMEOUT_MS } : {}),
    };
    const work = Promise.allSettled(names.map((name) => client.sandboxes.delete(name, options)));
    const results = await withSpinner(
      ctx.io.stdout,
      ctx.interactive(cmd),
      `deleting ${names.join(", ")}`,
      work,
    );
    const failures: Array<{ name: string; error: unknown }> = [];
    results.forEach((result, i) => {
      const name = names[i]!;
      if (result.status === "fulfilled") {
        ctx.print(flags.wait ? `sandbox ${name} deleted\n` : `sandbox ${name} is being deleted\n`);
      } else if (flags.ignoreNotFound && result.reason instanceof NotFoundError) {
        ctx.print(`sandbox ${name} did not exist\n`);
      } else {
        failures.push({ name, error: result.reason });
      }
    });
    if (failures.length === 0) return;
    if (names.length === 1) throw failures[0]!.error;
    // One line for all of them, with the first failure's hint.
    const first = failures[0]!.error as { hint?: string };
    throw new CliError(
      `could not delete ${failures.map((f) => `${f.name} (${(f.error as Error).message})`).join(", ")}`,
      { ...(first.hint ? { hint: first.hint } : {}), exitCode: exitCodeOfAll(failures.map((f) => f.error)) },
    );
  });
}

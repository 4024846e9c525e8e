/** `fsb-ctl reset NAME`: replace a sandbox's container with a fresh one from the same spec. */
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { CliError } from "../cli-error.ts";
import { completeSandboxNames } from "../completion-script.ts";
import { withExamples } from "../examples.ts";
import { declareOutputs, outputFormat } from "../output-format.ts";
import { sandboxSummary } from "../sandbox-view.ts";
import { withSpinner } from "../spinner.ts";
import { formatStructured } from "../structured-output.ts";

/** The old container gets its grace period, then a new one starts: well under this. */
const RESET_TIMEOUT_MS = 120_000;

interface ResetFlags {
  /** Commander's name for --no-wait. */
  wait: boolean;
}

export function registerReset(program: Command, ctx: CliContext): void {
  const command = program
    .command("reset")
    .summary("restart a sandbox from a fresh container")
    .description(
      "Replace a sandbox's container with a new one from the same spec (a new id, a clean file " +
        "system). Waits until the new container runs, unless --no-wait. An Expired sandbox cannot " +
        "be reset (its container is gone for good; the server refuses at once): create a new one.",
    )
    .argument("<name>", "the sandbox")
    .option("--no-wait", "return once the reset is requested");
  completeSandboxNames(command);
  declareOutputs(command, ["json", "yaml"]);
  withExamples(command, [
    ["fsb-ctl reset hello", "a fresh container for hello; prints the old and the new id"],
    ["fsb-ctl reset hello --no-wait", "request it and return at once"],
  ]);
  command.action(async (name: string, flags: ResetFlags, cmd: Command) => {
    const format = outputFormat(cmd);
    const client = ctx.client(cmd);
    const started = performance.now();
    const work = (async () => {
      const sandbox = await client.sandboxes.reset(name);
      const oldId = sandbox.id;
      if (flags.wait) {
        // Done once the controller has accepted this reset and the replacement runs, or once the
        // sandbox expired meanwhile (its expiry comes first, and then nothing more runs).
        await sandbox.waitUntil(
          (d) =>
            d.phase === "Expired" ||
            (d.phase === "Running" &&
              d.resetRevision !== undefined &&
              d.acceptedResetRevision !== undefined &&
              d.acceptedResetRevision.getTime() >= d.resetRevision.getTime()),
          { timeoutMs: RESET_TIMEOUT_MS },
        );
        if (sandbox.phase === "Expired") {
          throw new CliError(`sandbox ${name} expired before its reset completed`, {
            hint: "an expired sandbox cannot run again: create a new one with `fsb-ctl run`",
          });
        }
      }
      return { sandbox, oldId };
    })();
    const { sandbox, oldId } = await withSpinner(
      ctx.io.stdout,
      ctx.interactive(cmd),
      `resetting ${name}`,
      work,
    );
    const ms = Math.round(performance.now() - started);
    if (format) {
      ctx.print(formatStructured(sandbox.details, format === "json" ? "json" : "yaml"));
      return;
    }
    const style = ctx.style(cmd);
    ctx.print(
      flags.wait
        ? `sandbox ${style.bold(name)} reset in ${ms} ms: ${oldId} → ${sandbox.id}\n`
        : `sandbox ${style.bold(name)} reset requested: ${oldId} will be replaced\n`,
    );
    if (flags.wait) ctx.print(sandboxSummary(sandbox.details, style));
  });
}

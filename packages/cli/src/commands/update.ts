/** `fsb-ctl update NAME`: change a sandbox's expiry, failure policy, recovery timeout or labels. */
import type { UpdateSandboxOptions } from "@fast-sandbox/sdk";
import { type Command, Option } from "commander";
import type { CliContext } from "../cli-context.ts";
import { UsageError } from "../cli-error.ts";
import { completeSandboxNames } from "../completion-script.ts";
import { parseDuration, parseSeconds } from "../duration.ts";
import { withExamples } from "../examples.ts";
import { flagParser } from "../flag-parser.ts";
import { collectLabelChanges } from "../key-value.ts";
import { declareOutputs, outputFormat } from "../output-format.ts";
import { parseFailurePolicy } from "../sandbox-values.ts";
import { sandboxSummary } from "../sandbox-view.ts";
import { formatStructured } from "../structured-output.ts";

interface UpdateFlags {
  expireIn?: number;
  expireAt?: Date;
  /** Commander's name for --no-expire: false when it is given. */
  expire?: boolean;
  failurePolicy?: "Manual" | "AutoRecreate";
  recoveryTimeout?: number;
  label?: Record<string, string>;
}

export function registerUpdate(program: Command, ctx: CliContext): void {
  const command = program
    .command("update")
    .summary("change a sandbox's expiry, failure policy or labels")
    .description(
      "Change what can change on a running sandbox: expiry, failure policy, recovery timeout, labels. " +
        "An Expired sandbox keeps its expiry (the server refuses a new one): only its labels, " +
        "failure policy and recovery timeout change.",
    )
    .argument("<name>", "the sandbox")
    .addOption(
      new Option("--expire-in <duration>", "expire this long from now, such as 30m or 2h")
        .argParser(flagParser(parseDuration))
        .conflicts(["expireAt"]),
    )
    .addOption(
      new Option("--expire-at <time>", "expire at this time, such as 2030-01-01T12:00:00Z").argParser(
        flagParser(parseTime),
      ),
    )
    .addOption(new Option("--no-expire", "never expire").conflicts(["expireIn", "expireAt"]))
    .option(
      "--failure-policy <policy>",
      "Manual (stays Failed) or AutoRecreate",
      flagParser(parseFailurePolicy),
    )
    .option(
      "--recovery-timeout <duration>",
      "how long AutoRecreate keeps trying, such as 60s",
      flagParser(parseSeconds),
    )
    .option(
      "--label <KEY=VALUE|KEY->",
      "set a label, or remove it with KEY- (repeatable)",
      flagParser(collectLabelChanges),
    );
  completeSandboxNames(command);
  declareOutputs(command, ["json", "yaml"]);
  withExamples(command, [
    ["fsb-ctl update hello --expire-in 2h", "expire two hours from now"],
    ["fsb-ctl update hello --no-expire", "never expire"],
    ["fsb-ctl update hello --failure-policy AutoRecreate --recovery-timeout 2m", "recreate it if it fails"],
    ["fsb-ctl update hello --label team=a --label old-", "set team=a and remove the label old"],
  ]);
  command.action(async (name: string, flags: UpdateFlags, cmd: Command) => {
    const format = outputFormat(cmd);
    const changes: UpdateSandboxOptions = {
      ...(flags.expireIn !== undefined ? { expireInMs: flags.expireIn } : {}),
      ...(flags.expireAt ? { expireAt: flags.expireAt } : {}),
      ...(flags.expire === false ? { noExpire: true } : {}),
      ...(flags.failurePolicy ? { failurePolicy: flags.failurePolicy } : {}),
      ...(flags.recoveryTimeout !== undefined ? { recoveryTimeoutSeconds: flags.recoveryTimeout } : {}),
      ...(flags.label ? { labels: flags.label } : {}),
    };
    if (Object.keys(changes).length === 0) {
      throw new UsageError(
        "nothing to update",
        "pass --expire-in, --expire-at, --no-expire, --failure-policy, --recovery-timeout or --label",
      );
    }
    const sandbox = await ctx.client(cmd).sandboxes.update(name, changes);
    if (format) {
      ctx.print(formatStructured(sandbox.details, format === "json" ? "json" : "yaml"));
      return;
    }
    const style = ctx.style(cmd);
    ctx.print(`sandbox ${style.bold(sandbox.name)} updated\n`);
    ctx.print(sandboxSummary(sandbox.details, style));
  });
}

function parseTime(value: string): Date {
  const time = new Date(value);
  if (Number.isNaN(time.getTime()))
    throw new Error(`"${value}" is not a date and time, like 2030-01-01T12:00:00Z`);
  return time;
}

/** `fsb-ctl get NAME`: everything the server reports about one sandbox, as YAML or JSON. */
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { completeSandboxNames } from "../completion-script.ts";
import { withExamples } from "../examples.ts";
import { declareOutputs, outputFormat } from "../output-format.ts";
import { formatStructured } from "../structured-output.ts";

export function registerGet(program: Command, ctx: CliContext): void {
  const command = program
    .command("get")
    .summary("show one sandbox")
    .description("Show everything the server reports about a sandbox: spec, phase, conditions, endpoints.")
    .argument("<name>", "the sandbox");
  completeSandboxNames(command);
  declareOutputs(command, ["yaml", "json"]);
  withExamples(command, [
    ["fsb-ctl get hello", "as YAML (the default)"],
    ["fsb-ctl get hello -o json", "as JSON, for jq and scripts"],
  ]);
  command.action(async (name: string, _flags: unknown, cmd: Command) => {
    const format = outputFormat(cmd) === "json" ? "json" : "yaml";
    const sandbox = await ctx.client(cmd).sandboxes.get(name);
    ctx.print(formatStructured(sandbox.details, format));
  });
}

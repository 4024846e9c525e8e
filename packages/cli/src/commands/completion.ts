/** `fsb-ctl completion bash|zsh`: print a shell completion script. */
import { Argument, type Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { completionScript } from "../completion-script.ts";
import { withExamples } from "../examples.ts";

export function registerCompletion(program: Command, ctx: CliContext): void {
  const command = program
    .command("completion")
    .summary("print a shell completion script")
    .description(
      "Print a completion script for bash or zsh: commands, flags, and sandbox names from the server.",
    )
    .addArgument(new Argument("<shell>", "bash or zsh").choices(["bash", "zsh"]));
  withExamples(command, [
    ["source <(fsb-ctl completion bash)", "in ~/.bashrc"],
    ["source <(fsb-ctl completion zsh)", "in ~/.zshrc, after compinit"],
  ]);
  command.action((shell: "bash" | "zsh") => {
    ctx.print(completionScript(program, shell));
  });
}

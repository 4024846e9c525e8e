/** The "Examples:" section every command's --help ends with. */
import type { Command } from "commander";

/** Appends examples; each is `[command line, what it does]`. */
export function withExamples(command: Command, examples: Array<[string, string]>): Command {
  const lines = examples.flatMap(([line, what]) => [`  # ${what}`, `  $ ${line}`]);
  return command.addHelpText("after", `\nExamples:\n${lines.join("\n")}\n`);
}

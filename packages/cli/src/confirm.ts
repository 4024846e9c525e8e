/** A yes/no question on the terminal; anything but y or yes (including Ctrl-C and Ctrl-D) is no. */
import { createInterface } from "node:readline";

export function confirm(
  question: string,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
): Promise<boolean> {
  const rl = createInterface({ input, output });
  return new Promise<boolean>((resolve) => {
    let answered = false;
    rl.question(`${question} [y/N] `, (answer) => {
      answered = true;
      rl.close();
      resolve(/^y(es)?$/i.test(answer.trim()));
    });
    // readline turns Ctrl-C into this event while it owns the terminal; without a listener it would only pause.
    rl.on("SIGINT", () => rl.close());
    rl.on("close", () => {
      if (answered) return;
      output.write("\n");
      resolve(false);
    });
  });
}

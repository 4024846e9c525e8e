/** `fsb-ctl version`: the client's version and, if it answers, the server's. */
import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { CLIENT_VERSION } from "../client-version.ts";
import { withExamples } from "../examples.ts";
import { declareOutputs, outputFormat } from "../output-format.ts";
import { formatStructured } from "../structured-output.ts";
import { formatTable } from "../table.ts";

/** The server part is informative: do not hang on a server that does not answer. */
const SERVER_TIMEOUT_MS = 3000;

export function registerVersion(program: Command, ctx: CliContext): void {
  const command = program
    .command("version")
    .summary("print the client and server versions")
    .description(
      "Print the client's version and the server's; an unreachable server is reported, not an error.",
    );
  declareOutputs(command, ["json", "yaml"]);
  withExamples(command, [
    ["fsb-ctl version", "both versions"],
    ["fsb-ctl version -o json", "as JSON"],
  ]);
  command.action(async (_flags: unknown, cmd: Command) => {
    const format = outputFormat(cmd);
    const client = { version: CLIENT_VERSION, node: process.version };
    let server: { version: string; node: string; endpoint: string } | { error: string; endpoint?: string };
    try {
      const fsb = ctx.client(cmd);
      try {
        server = { ...(await fsb.serverVersion({ timeoutMs: SERVER_TIMEOUT_MS })), endpoint: fsb.endpoint };
      } catch (err) {
        server = { error: (err as Error).message, endpoint: fsb.endpoint };
      }
    } catch (err) {
      server = { error: (err as Error).message };
    }
    if (format) {
      ctx.print(formatStructured({ client, server }, format === "json" ? "json" : "yaml"));
      return;
    }
    const style = ctx.style(cmd);
    ctx.print(
      formatTable([
        ["client", `fsb-ctl ${client.version} (node ${client.node})`],
        [
          "server",
          "error" in server
            ? { text: `unavailable: ${server.error}`, colour: style.yellow }
            : `${server.version} (node ${server.node}) at ${server.endpoint}`,
        ],
      ]),
    );
  });
}

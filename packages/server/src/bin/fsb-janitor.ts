/** Entry point of fsb-janitor: parse flags and env, scan the node until SIGTERM/SIGINT. */
import { readFileSync } from "node:fs";
import { isFsbError } from "@fast-sandbox/api";
import { pino } from "pino";
import { EXIT_USAGE, runMain } from "../core/run-main.ts";
import { parseJanitorConfig } from "../janitor/janitor-config.ts";
import { JanitorService } from "../janitor/janitor-service.ts";

let parsed: ReturnType<typeof parseJanitorConfig>;
try {
  parsed = parseJanitorConfig(process.argv.slice(2), process.env, (p) => readFileSync(p, "utf8"));
} catch (err) {
  process.stderr.write(`fsb-janitor: ${isFsbError(err) ? err.message : String(err)}\n`);
  process.exit(EXIT_USAGE);
}
if (parsed.help) {
  process.stdout.write(parsed.usage);
  process.exit(0);
}

const config = parsed.config;
const logger = pino({ name: "fsb-janitor", level: config.logLevel }).child({ node: config.nodeName });
if (config.insecure) logger.warn("calling the controller without a token (--insecure)");
if (config.dryRun) logger.warn("dry run: orphans and leftovers are reported, nothing is removed");

await runMain(new JanitorService(config, logger), logger, {
  name: "fsb-janitor",
  ports: [{ flag: "--metrics-bind-address", ...config.metrics }],
});

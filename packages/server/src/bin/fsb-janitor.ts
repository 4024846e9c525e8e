/** Entry point of fsb-janitor: parse flags and env, scan the node until SIGTERM/SIGINT. */
import { createLogger } from "../core/logger.ts";
import { configOrExit, runMain } from "../core/run-main.ts";
import { parseJanitorConfig } from "../janitor/janitor-config.ts";
import { JanitorService } from "../janitor/janitor-service.ts";

const config = configOrExit("fsb-janitor", parseJanitorConfig);
const logger = createLogger({
  name: "fsb-janitor",
  level: config.logLevel,
  format: config.logFormat,
  bindings: { node: config.nodeName },
});
if (config.insecure) logger.warn("calling the controller without a token (--insecure)");
if (config.dryRun) logger.warn("dry run: orphans and leftovers are reported, nothing is removed");

await runMain(new JanitorService(config, logger), logger, {
  name: "fsb-janitor",
  ports: [{ flag: "--metrics-bind-address", ...config.metrics }],
});

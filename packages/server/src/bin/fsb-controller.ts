/** Entry point of fsb-controller: parse flags and env, start the control plane, stop it cleanly on a signal. */
import { readFileSync } from "node:fs";
import { isFsbError } from "@fast-sandbox/api";
import { pino } from "pino";
import { Controller } from "../controller/controller.ts";
import { parseControllerConfig } from "../controller/controller-config.ts";
import { runMain } from "../core/run-main.ts";

let parsed: ReturnType<typeof parseControllerConfig>;
try {
  parsed = parseControllerConfig(process.argv.slice(2), process.env, (p) => readFileSync(p, "utf8"));
} catch (err) {
  process.stderr.write(`fsb-controller: ${isFsbError(err) ? err.message : String(err)}\n`);
  process.exit(2);
}
if (parsed.help) {
  process.stdout.write(parsed.usage);
  process.exit(0);
}

const logger = pino({ name: "fsb-controller", level: parsed.config.logLevel });
if (parsed.config.insecure) logger.warn("serving the API without a token (--insecure)");
const controller = new Controller(parsed.config, logger);

await runMain(controller, logger, "stopping");

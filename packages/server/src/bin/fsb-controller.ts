/** Entry point of fsb-controller: parse flags and env, start the control plane, stop it cleanly on a signal. */
import { readFileSync } from "node:fs";
import { isFsbError } from "@fast-sandbox/api";
import { pino } from "pino";
import { Controller } from "../controller/controller.ts";
import { parseControllerConfig } from "../controller/controller-config.ts";

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

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping");
  controller.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, "unclean stop");
      process.exit(1);
    },
  );
};
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
// One bad request must not take the control plane down: log and carry on.
process.on("uncaughtException", (err) => logger.error({ err }, "uncaught exception"));
process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));

try {
  await controller.start();
} catch (err) {
  logger.fatal({ err }, "controller failed to start");
  await controller.stop().catch(() => {});
  process.exit(1);
}

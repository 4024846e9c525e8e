/** Entry point of fsb-agent: parse flags and env, start the agent, and stop it cleanly on SIGTERM/SIGINT. */
import { readFileSync } from "node:fs";
import { isFsbError } from "@fast-sandbox/api";
import { pino } from "pino";
import { Agent } from "../agent/agent.ts";
import { parseAgentConfig } from "../agent/agent-config.ts";

let parsed: ReturnType<typeof parseAgentConfig>;
try {
  parsed = parseAgentConfig(process.argv.slice(2), process.env, (p) => readFileSync(p, "utf8"));
} catch (err) {
  process.stderr.write(`fsb-agent: ${isFsbError(err) ? err.message : String(err)}\n`);
  process.exit(2);
}
if (parsed.help) {
  process.stdout.write(parsed.usage);
  process.exit(0);
}

const config = parsed.config;
const logger = pino({ name: "fsb-agent", level: config.logLevel }).child({ agentId: config.agentId });
if (config.insecure)
  logger.warn("running without an API token (--insecure): anyone who can reach the port controls it");
const agent = new Agent(config, logger);

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping; sandboxes keep running");
  agent.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, "unclean stop");
      process.exit(1);
    },
  );
};
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
// A bug in one request must not take down the node's sandboxes' manager: log it and carry on.
process.on("uncaughtException", (err) => logger.error({ err }, "uncaught exception"));
process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));

try {
  await agent.start();
} catch (err) {
  logger.fatal({ err }, "agent failed to start");
  process.exit(1);
}

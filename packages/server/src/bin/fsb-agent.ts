/** Entry point of fsb-agent: parse flags and env, start the agent, and stop it cleanly on SIGTERM/SIGINT. */
import { Agent } from "../agent/agent.ts";
import { parseAgentConfig } from "../agent/agent-config.ts";
import { createLogger } from "../core/logger.ts";
import { removePidFile, writePidFile } from "../core/pid-file.ts";
import { configOrExit, runMain } from "../core/run-main.ts";

const config = configOrExit("fsb-agent", parseAgentConfig);
const logger = createLogger({
  name: "fsb-agent",
  level: config.logLevel,
  format: config.logFormat,
  bindings: { agentId: config.agentId },
});
if (config.insecure)
  logger.warn("running without an API token (--insecure): anyone who can reach the port controls it");
if (config.runtime === "gvisor" && config.seccomp.kind !== "unconfined")
  logger.info("--seccomp does not apply to gVisor sandboxes: gVisor's own kernel serves their syscalls");
const agent = new Agent(config, logger);
const pidFile = config.pidFile;
if (pidFile) {
  // Written before anything else, so whoever launched this process can find it by PID from now on;
  // removed on every exit but SIGKILL (and a stale one names a PID that is gone or not an agent).
  writePidFile(pidFile);
  process.on("exit", () => removePidFile(pidFile));
}

await runMain(agent, logger, {
  name: "fsb-agent",
  stopMessage: "stopping; sandboxes keep running",
  ports: [{ flag: "--http-port", host: config.listenAddress, port: config.httpPort }],
});

/**
 * Entry point of `npm start`: the whole system on one machine, in the foreground (see
 * standalone-system.ts). One instance per state directory; start-up failures are one line on the
 * terminal (exit 2 when a flag is to blame, 1 otherwise), the details in <state-dir>/standalone.log.
 */
import path from "node:path";
import { type Logger, pino } from "pino";
import type { ControllerConfig } from "../controller/controller-config.ts";
import type { LockFile } from "../core/lock-file.ts";
import { assertPortsFree, portInUseError } from "../core/port-in-use.ts";
import { EXIT_FAILURE, EXIT_USAGE, isFlagError } from "../core/run-main.ts";
import { takeInstanceLock } from "../standalone/instance-lock.ts";
import { parseStandaloneArgs, type StandaloneConfig } from "../standalone/standalone-config.ts";
import { standaloneControllerConfig } from "../standalone/standalone-controller-config.ts";
import { StandaloneSystem } from "../standalone/standalone-system.ts";
import { ensureTokenFile } from "../standalone/token-file.ts";

const root = path.resolve(import.meta.dirname, "../../../..");
const say = (line: string) => process.stderr.write(`fsb-standalone: ${line}\n`);
/** The first line of an error's message: the terminal gets one line, the log file the whole error. */
const messageOf = (err: unknown) =>
  (err instanceof Error ? err.message : String(err))
    .split("\n")
    .map((line) => line.trim())
    .find(Boolean) ?? "unknown error";

let config: StandaloneConfig;
try {
  const parsed = parseStandaloneArgs(process.argv.slice(2), process.env, root);
  if (parsed.help) {
    process.stdout.write(parsed.usage);
    process.exit(0);
  }
  config = parsed.config;
} catch (err) {
  say(messageOf(err));
  process.exit(EXIT_USAGE);
}

// Before anything else: a second start beside a live one must touch nothing of it.
const attempt = takeInstanceLock(config.stateDir, "");
if (!attempt.lock) {
  say(attempt.refusal);
  process.exit(EXIT_USAGE);
}
const lock: LockFile = attempt.lock;
const logFile = path.join(config.stateDir, "standalone.log");
const logger: Logger = pino(
  { name: "fsb-standalone", level: process.env.LOG_LEVEL ?? "info" },
  pino.destination({ dest: logFile, append: true, sync: true, mkdir: true }),
);

/** Stops what runs, releases the lock, and exits; a failure is one line on the terminal. */
async function exit(code: number, err?: unknown, system?: StandaloneSystem): Promise<never> {
  await system?.stop().catch((stopErr: unknown) => logger.error({ err: stopErr }, "stop failed"));
  lock.release();
  if (err !== undefined) {
    logger.error({ err }, "failed to start");
    say(code === EXIT_USAGE ? messageOf(err) : `${messageOf(err)} (details in ${logFile})`);
  }
  process.exit(code);
}

/**
 * Tokens, the controller's configuration, an earlier run's leftovers on our ports, free ports:
 * everything that can fail before a process starts.
 */
async function prepare(): Promise<{
  system: StandaloneSystem;
  controllerConfig: ControllerConfig;
  tokenFile: string;
}> {
  const tokenFile = path.join(config.stateDir, "api-token");
  const token = process.env.FSB_TOKEN || (await ensureTokenFile(tokenFile));
  const agentToken =
    process.env.FSB_AGENT_TOKEN || (await ensureTokenFile(path.join(config.stateDir, "agent-token")));
  const parsed = standaloneControllerConfig(config, { token, agentToken }, process.env);
  if (parsed.help) {
    process.stdout.write(parsed.usage);
    return exit(0);
  }
  const controllerConfig = parsed.config;
  // --log-level is the controller's flag; the standalone's own log follows it too.
  logger.level = controllerConfig.logLevel;
  lock.update({ api: `http://127.0.0.1:${controllerConfig.api.port}` });
  const system = new StandaloneSystem({
    config,
    controllerConfig,
    imageTar: path.join(root, ".fsb-dev/images/busybox-oci.tar"),
    tokenFromEnv: !!process.env.FSB_TOKEN,
    tokenFile,
    logger,
    notice: say,
  });
  await system.stopLeftovers();
  await assertPortsFree(StandaloneSystem.ports(config, controllerConfig));
  return { system, controllerConfig, tokenFile };
}

const { system, controllerConfig, tokenFile } = await prepare().catch((err: unknown) =>
  exit(isFlagError(err) ? EXIT_USAGE : EXIT_FAILURE, err),
);

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping: janitor, API, agents, store, then containerd");
  say("stopping; sandboxes keep running and the next start adopts them");
  void exit(0, undefined, system);
};
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
// A closed terminal: without this the default action would end this process alone and leave its
// agents, janitor and containerd running until the next start adopts them.
process.on("SIGHUP", () => shutdown("SIGHUP"));
// One bad request must not take the system down; the log has the details.
process.on("uncaughtException", (err) => logger.error({ err }, "uncaught exception"));
process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));

say(`starting from ${config.stateDir} (log: ${logFile})`);
try {
  await system.start();
} catch (err) {
  // A signal during the start owns the exit: it stops what the start got to.
  if (stopping) await new Promise<never>(() => {});
  const blamed = portInUseError(err, StandaloneSystem.ports(config, controllerConfig)) ?? err;
  await exit(isFlagError(blamed) ? EXIT_USAGE : EXIT_FAILURE, blamed, system);
}
lock.update({ api: system.endpoint });

const janitorMetrics = `${config.janitorMetrics.host || "127.0.0.1"}:${config.janitorMetrics.port}`;
process.stdout.write(`
Fast Sandbox is running (standalone, pid ${process.pid}).
  Fast-Path API  ${system.endpoint}   (gRPC, gRPC-Web and Connect on one port)
  token          ${process.env.FSB_TOKEN ? "$FSB_TOKEN" : tokenFile}
  metrics        http://127.0.0.1:${system.metricsPort}/metrics
  janitor        pid ${system.janitorPid}, metrics http://${janitorMetrics}/metrics
  containerd     ${system.containerdSocket}${system.privateContainerdPid ? ` (private, pid ${system.privateContainerdPid})` : ""}
  logs           ${logFile}; agents: ${path.join(controllerConfig.dataDir, "agents")}/*.log
  fsb-ctl        reads ${config.cliConfigFile}

Create a first sandbox:
  curl -s -H "Authorization: Bearer $(cat ${tokenFile})" -H 'Content-Type: application/json' \\
    -d '{"name":"hello","image":"busybox","command":["sh","-c","echo hello; sleep 3600"]}' \\
    ${system.endpoint}/fastsandbox.v1.FastPathService/CreateSandbox

Press Ctrl-C to stop everything.
`);

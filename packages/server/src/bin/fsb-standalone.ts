/**
 * Entry point of `npm start`: the whole system on one machine, in the foreground. containerd (the
 * node's if its socket answers, else a private one under .fsb-dev/), then the controller with its
 * embedded store and the default pool's agents as local processes. Ctrl-C stops all of it, in order.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { pino } from "pino";
import { ContainerdConnection } from "../containerd/connection.ts";
import { Controller } from "../controller/controller.ts";
import { parseControllerConfig } from "../controller/controller-config.ts";
import { type JanitorProcess, startJanitorProcess } from "../janitor/janitor-process.ts";
import { PrivateContainerd } from "../standalone/private-containerd.ts";
import { ensureTokenFile } from "../standalone/token-file.ts";

const root = path.resolve(import.meta.dirname, "../../../..");
const stateDir = path.join(root, ".fsb-dev");
const SYSTEM_SOCKET = "/run/containerd/containerd.sock";
/** The system containerd's state directory (task bundles), for the janitor. */
const SYSTEM_STATE_DIR = "/run/containerd";
/** The janitor's metrics, beside the controller's (:9091) and its probes (:9092). */
const JANITOR_METRICS = "127.0.0.1:9093";
const NAMESPACE = "k8s.io";
/**
 * The default pool `npm start` creates on first start: 1 to 4 agents of 5 slots, keeping 2 slots
 * free for the next creates and draining agents when more than 7 sit idle.
 */
const DEFAULT_POOL_FLAGS = [
  "--local-agents",
  "1",
  "--pool-max",
  "4",
  "--local-agent-capacity",
  "5",
  "--pool-buffer-min",
  "2",
  "--pool-buffer-max",
  "7",
];
const logger = pino({ name: "fsb-standalone", level: process.env.LOG_LEVEL ?? "info" });

async function reachable(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  const conn = new ContainerdConnection({ socketPath, namespace: NAMESPACE });
  try {
    await conn.version.version({}, { timeoutMs: 1000 });
    return true;
  } catch {
    return false;
  } finally {
    conn.close();
  }
}

const systemSocket =
  process.env.FSB_CONTAINERD_SOCKET ?? ((await reachable(SYSTEM_SOCKET)) ? SYSTEM_SOCKET : undefined);
const privateContainerd = systemSocket
  ? undefined
  : new PrivateContainerd({ dir: path.join(stateDir, "containerd") });
if (privateContainerd) {
  await privateContainerd.start();
  logger.info(
    { pid: privateContainerd.pid, socket: privateContainerd.socketPath },
    "started a private containerd",
  );
}
const socketPath = systemSocket ?? privateContainerd!.socketPath;
// The local busybox image makes a first sandbox possible without any registry.
await PrivateContainerd.importImageTo(
  socketPath,
  path.join(stateDir, "images/busybox-oci.tar"),
  "docker.io/library/busybox",
  NAMESPACE,
);

const tokenFile = path.join(stateDir, "api-token");
const token = process.env.FSB_TOKEN || (await ensureTokenFile(tokenFile));
const agentToken = process.env.FSB_AGENT_TOKEN || (await ensureTokenFile(path.join(stateDir, "agent-token")));
const parsed = parseControllerConfig(
  [
    "--data-dir",
    path.join(stateDir, "controller"),
    "--containerd-socket",
    socketPath,
    "--containerd-namespace",
    NAMESPACE,
    ...DEFAULT_POOL_FLAGS,
    // The agents take :5758 and up (the seed's agent port); the probes, also served on the API
    // port, move out of their way.
    "--health-probe-bind-address",
    "127.0.0.1:9092",
    ...process.argv.slice(2),
  ],
  { ...process.env, FSB_TOKEN: token, FSB_AGENT_TOKEN: agentToken },
  (p) => p,
);
if (parsed.help) {
  process.stdout.write(parsed.usage);
  process.exit(0);
}
const controller = new Controller(parsed.config, logger.child({ component: "controller" }));
let janitor: JanitorProcess | undefined;

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping: janitor, API, agents, store, then containerd");
  // The janitor goes first: with the controller gone it could not prove anything, so it would idle.
  await janitor?.stop().catch((err: unknown) => logger.error({ err }, "janitor stop failed"));
  await controller.stop().catch((err: unknown) => logger.error({ err }, "controller stop failed"));
  await privateContainerd?.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

await controller.start();
const endpoint = `http://127.0.0.1:${controller.apiPort}`;
// The node janitor beside the agents: it removes orphan containers and leftovers once the controller can say who owns what.
janitor = startJanitorProcess({
  controllerUrl: endpoint,
  token: parsed.config.token,
  containerdSocket: parsed.config.containerdSocket,
  containerdNamespace: parsed.config.containerdNamespace,
  containerdState:
    process.env.FSB_CONTAINERD_STATE ??
    (privateContainerd ? path.join(privateContainerd.dir, "state") : SYSTEM_STATE_DIR),
  logDir: parsed.config.agentLogDir,
  metricsBindAddress: JANITOR_METRICS,
  outputFile: path.join(stateDir, "janitor.log"),
  logger: logger.child({ component: "janitor" }),
});
// Where the CLI looks first (./.fsb/config.yaml), so it works with no flags at all.
await mkdir(path.join(root, ".fsb"), { recursive: true });
await writeFile(
  path.join(root, ".fsb/config.yaml"),
  [
    "# Written by `npm start` for the standalone system.",
    "current-context: standalone",
    "contexts:",
    "  standalone:",
    `    endpoint: ${endpoint}`,
    `    tokenFile: ${process.env.FSB_TOKEN ? '""  # FSB_TOKEN is set' : tokenFile}`,
    "    namespace: default",
    "",
  ].join("\n"),
);

process.stdout.write(`
Fast Sandbox is running (standalone).
  Fast-Path API  ${endpoint}   (gRPC, gRPC-Web and Connect on one port)
  token          ${process.env.FSB_TOKEN ? "$FSB_TOKEN" : tokenFile}
  metrics        http://127.0.0.1:${controller.metricsPort}/metrics
  janitor        pid ${janitor.pid}, metrics http://${JANITOR_METRICS}/metrics, output ${path.join(stateDir, "janitor.log")}
  containerd     ${socketPath}${privateContainerd ? " (private)" : ""}

Create a first sandbox:
  curl -s -H "Authorization: Bearer $(cat ${tokenFile})" -H 'Content-Type: application/json' \\
    -d '{"name":"hello","image":"busybox","command":["sh","-c","echo hello; sleep 3600"]}' \\
    ${endpoint}/fastsandbox.v1.FastPathService/CreateSandbox

Press Ctrl-C to stop everything.
`);

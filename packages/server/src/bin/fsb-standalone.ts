/**
 * Entry point of `npm start`: the whole system on one machine. For now that is containerd (the
 * node's if its socket answers, else a private one under .fsb-dev/) plus one agent; the control
 * plane joins it in a later step.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { pino } from "pino";
import { Agent } from "../agent/agent.ts";
import { parseAgentConfig } from "../agent/agent-config.ts";
import { ContainerdConnection } from "../containerd/connection.ts";
import { PrivateContainerd } from "../standalone/private-containerd.ts";
import { ensureTokenFile } from "../standalone/token-file.ts";

const root = path.resolve(import.meta.dirname, "../../../..");
const stateDir = path.join(root, ".fsb-dev");
const SYSTEM_SOCKET = "/run/containerd/containerd.sock";
const NAMESPACE = "k8s.io";
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

const useSystem =
  process.env.FSB_CONTAINERD_SOCKET ?? ((await reachable(SYSTEM_SOCKET)) ? SYSTEM_SOCKET : undefined);
const privateContainerd = useSystem
  ? undefined
  : new PrivateContainerd({ dir: path.join(stateDir, "containerd") });
if (privateContainerd) {
  await privateContainerd.start();
  logger.info(
    { pid: privateContainerd.pid, socket: privateContainerd.socketPath },
    "started a private containerd",
  );
}
const socketPath = useSystem ?? privateContainerd!.socketPath;
// The local busybox image makes a first sandbox possible without any registry.
await PrivateContainerd.importImageTo(
  socketPath,
  path.join(stateDir, "images/busybox-oci.tar"),
  "docker.io/library/busybox",
  NAMESPACE,
);

const tokenFile = path.join(stateDir, "agent-token");
const token = process.env.FSB_AGENT_TOKEN || (await ensureTokenFile(tokenFile));
const parsed = parseAgentConfig(
  [
    "--containerd-socket",
    socketPath,
    "--containerd-namespace",
    NAMESPACE,
    "--log-dir",
    path.join(stateDir, "logs"),
    "--agent-id",
    "standalone-agent",
    ...process.argv.slice(2),
  ],
  { ...process.env, FSB_AGENT_TOKEN: token },
  () => token,
);
if (parsed.help) {
  process.stdout.write(parsed.usage);
  process.exit(0);
}
const agent = new Agent(parsed.config, logger.child({ component: "agent" }));
await agent.start();

process.stdout.write(`
Fast Sandbox is running (standalone).
  agent API   http://127.0.0.1:${agent.port}   token in ${process.env.FSB_AGENT_TOKEN ? "$FSB_AGENT_TOKEN" : tokenFile}
  containerd  ${socketPath}${privateContainerd ? " (private)" : ""}

Create a first sandbox:
  curl -s -H "Authorization: Bearer $(cat ${tokenFile})" \\
    -d '{"sandbox":{"sandboxId":"hello-1","name":"hello","image":"busybox","command":["sh","-c","echo hello; sleep 3600"]}}' \\
    http://127.0.0.1:${agent.port}/api/v1/agent/create

Press Ctrl-C to stop (sandboxes keep running and are adopted on the next start).
`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await agent.stop();
  await privateContainerd?.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown());
process.on("SIGTERM", () => void shutdown());

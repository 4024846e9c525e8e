/** Finding a local launcher's agents again after a crash: their processes by PID, and who still holds sandboxes. */
import path from "node:path";
import { Labels, managedByValue } from "@fast-sandbox/api";
import { ContainerdConnection } from "../../containerd/connection.ts";
import { ContainerRuntime } from "../../containerd/container-runtime.ts";
import { readPidFile } from "../../core/pid-file.ts";
import { argvHas, isProcessRunning, processArgv } from "../../core/proc-fs.ts";
import type { LocalAgentFiles } from "./local-agent-state.ts";

export const agentEntry = path.resolve(import.meta.dirname, "../../bin/fsb-agent.ts");

/**
 * Every running process that is this launcher's agent `agentId`: the one its PID file names and
 * `alsoPid` (what the state file recorded), each only if its command line is fsb-agent with that
 * id and that PID file, so a PID reused by an unrelated process is never taken for an agent.
 */
export function runningAgentPids(files: LocalAgentFiles, agentId: string, alsoPid = 0): number[] {
  const pidFile = files.pidFile(agentId);
  const candidates = new Set([readPidFile(pidFile) ?? 0, alsoPid].filter((pid) => pid > 0));
  return [...candidates].filter((pid) => {
    if (!isProcessRunning(pid)) return false;
    const argv = processArgv(pid);
    return (
      !!argv &&
      argv[1] === agentEntry &&
      argvHas(argv, "--agent-id", agentId) &&
      argvHas(argv, "--pid-file", pidFile)
    );
  });
}

/**
 * The agent ids that containerd still runs sandbox containers of (prewarmed containers do not
 * count), in `namespaces` of the containerd at `socketPath`.
 */
export async function agentsHoldingSandboxes(
  socketPath: string,
  namespaces: Iterable<string>,
): Promise<Set<string>> {
  const held = new Set<string>();
  for (const namespace of new Set(namespaces)) {
    const conn = new ContainerdConnection({ socketPath, namespace });
    try {
      const containers = await new ContainerRuntime(conn).list({ [Labels.ManagedBy]: managedByValue });
      for (const c of containers) {
        const agentId = c.labels[Labels.Agent];
        if (agentId && c.labels[Labels.Prewarm] !== "true") held.add(agentId);
      }
    } finally {
      conn.close();
    }
  }
  return held;
}

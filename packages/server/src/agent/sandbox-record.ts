/** A sandbox in the agent's hands: its record, and the status reported for it (pure). */
import { formatIpv4 } from "@fast-sandbox/api";
import type { ContainerStatus, TaskState } from "../containerd/container-runtime.ts";
import type { AgentSandboxPhase, SandboxIdentity } from "./sandbox-spec.ts";

/** A sandbox as the agent reports it. */
export interface SandboxStatus {
  sandboxId: string;
  /** The containerd container: the sandbox id, or a prewarmed container's own id. */
  containerId: string;
  name: string;
  namespace: string;
  uid: string;
  pool: string;
  image: string;
  phase: AgentSandboxPhase;
  taskState: TaskState;
  pid: number;
  exitCode: number | undefined;
  exitedAt: Date | undefined;
  /** Why the process ended when the agent knows: `OOMKilled` when the kernel's OOM killer ended it. */
  exitReason: ExitReason | undefined;
  createdAt: Date;
  endpoints: string[];
}

/** The reasons an exit can carry (Kubernetes' word for the one there is). */
export type ExitReason = "OOMKilled";

/** The answer to a create: the sandbox, and whether it was served by a prewarmed container. */
export interface CreatedSandbox extends SandboxStatus {
  prewarmed: boolean;
}

/**
 * What the agent keeps per sandbox, by sandbox id. Kept current by the create and delete paths,
 * containerd's task events and the periodic resync, so a status read never asks containerd.
 */
export interface SandboxRecord {
  identity: SandboxIdentity;
  phase: AgentSandboxPhase;
  /** The task's state as last known: set by the create, an exit event or a resync. */
  taskState: TaskState;
  pid: number;
  exitCode: number | undefined;
  exitedAt: Date | undefined;
  /**
   * The kernel's OOM killer acted in its cgroup (containerd's /tasks/oom). It usually comes before
   * the exit, but containerd does not order the two: one after the exit still sets this.
   */
  oomKilled: boolean;
  /** Settles when a create in flight finishes (either way). */
  created?: Promise<void>;
  /** Settles when a delete in flight finishes. */
  deleted?: Promise<void>;
}

/** The status of a sandbox, from the record alone. */
export function statusOf(record: SandboxRecord, advertiseAddress: string): SandboxStatus {
  const { identity } = record;
  const exited = record.phase === "Exited" || record.exitCode !== undefined;
  return {
    sandboxId: identity.sandboxId,
    containerId: identity.containerId,
    name: identity.name,
    namespace: identity.namespace,
    uid: identity.uid,
    pool: identity.pool,
    image: identity.image,
    phase: record.phase,
    taskState: record.taskState,
    pid: record.pid,
    exitCode: record.exitCode,
    exitedAt: record.exitedAt,
    exitReason: exited && record.oomKilled ? "OOMKilled" : undefined,
    createdAt: identity.createdAt,
    endpoints: identity.exposedPorts.map((port) => `${hostOf(identity, advertiseAddress)}:${port}`),
  };
}

/** Where a sandbox's ports are: its own address in mode isolated, else the agent's. */
function hostOf(identity: SandboxIdentity, advertiseAddress: string): string {
  const { address } = identity.network;
  return address === undefined ? advertiseAddress : formatIpv4(address);
}

/**
 * The answer to a create. A sandbox was served by a prewarmed container exactly when its container
 * id is not its sandbox id, which holds for adopted sandboxes too (a repeated create says the same).
 */
export function createdView(record: SandboxRecord, advertiseAddress: string): CreatedSandbox {
  const { sandboxId, containerId } = record.identity;
  return { ...statusOf(record, advertiseAddress), prewarmed: containerId !== sandboxId };
}

/** A record's state from an adopted container's task. */
export function stateFromTask(
  container: ContainerStatus,
): Pick<SandboxRecord, "phase" | "taskState" | "pid" | "exitCode" | "exitedAt" | "oomKilled"> {
  const stopped = container.task.state === "stopped";
  return {
    phase: stopped ? "Exited" : "Running",
    taskState: container.task.state,
    // containerd keeps no record of an OOM kill: one that happened while no agent ran is not known.
    oomKilled: false,
    pid: container.task.pid,
    exitCode: container.task.exitCode,
    exitedAt: container.task.exitedAt,
  };
}

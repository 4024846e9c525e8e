/** A sandbox in the agent's hands: its record, and the status reported for it (pure). */
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
  createdAt: Date;
  endpoints: string[];
}

/** The answer to a create: the sandbox, and whether it was served by a prewarmed container. */
export interface CreatedSandbox extends SandboxStatus {
  prewarmed: boolean;
}

/** What the agent keeps per sandbox, by sandbox id. */
export interface SandboxRecord {
  identity: SandboxIdentity;
  phase: AgentSandboxPhase;
  pid: number;
  exitCode: number | undefined;
  exitedAt: Date | undefined;
  /** Settles when a create in flight finishes (either way). */
  created?: Promise<void>;
  /** Settles when a delete in flight finishes. */
  deleted?: Promise<void>;
}

/** The status of a sandbox: the record, overlaid with the live task state when it was read. */
export function statusOf(
  record: SandboxRecord,
  live: ContainerStatus | undefined,
  advertiseAddress: string,
): SandboxStatus {
  const { identity } = record;
  const task = live?.task;
  let phase = record.phase;
  if (task && (phase === "Running" || phase === "Exited"))
    phase = task.state === "stopped" || task.state === "missing" ? "Exited" : "Running";
  return {
    sandboxId: identity.sandboxId,
    containerId: identity.containerId,
    name: identity.name,
    namespace: identity.namespace,
    uid: identity.uid,
    pool: identity.pool,
    image: identity.image,
    phase,
    taskState:
      task?.state ??
      (record.phase === "Running" ? "running" : record.phase === "Exited" ? "stopped" : "unknown"),
    pid: task?.pid || record.pid,
    exitCode: task?.exitCode ?? record.exitCode,
    exitedAt: task?.exitedAt ?? record.exitedAt,
    createdAt: identity.createdAt,
    endpoints: identity.exposedPorts.map((port) => `${advertiseAddress}:${port}`),
  };
}

/**
 * The answer to a create. A sandbox was served by a prewarmed container exactly when its container
 * id is not its sandbox id, which holds for adopted sandboxes too (a repeated create says the same).
 */
export function createdView(record: SandboxRecord, advertiseAddress: string): CreatedSandbox {
  const { sandboxId, containerId } = record.identity;
  return { ...statusOf(record, undefined, advertiseAddress), prewarmed: containerId !== sandboxId };
}

/** A record's state from an adopted container's task. */
export function stateFromTask(
  container: ContainerStatus,
): Pick<SandboxRecord, "phase" | "pid" | "exitCode" | "exitedAt"> {
  const stopped = container.task.state === "stopped";
  return {
    phase: stopped ? "Exited" : "Running",
    pid: container.task.pid,
    exitCode: container.task.exitCode,
    exitedAt: container.task.exitedAt,
  };
}

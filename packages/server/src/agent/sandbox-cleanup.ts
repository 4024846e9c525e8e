/** Removing what sandboxes the agent no longer tracks may have left: containers, logs, snapshots. */
import { rm } from "node:fs/promises";
import path from "node:path";
import { isManagedContainer, Labels, managedByValue } from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { ContainerRuntime } from "../containerd/container-runtime.ts";
import { keptLogPath, settleLog } from "./sandbox-logs.ts";

/** Options of {@link removeUntrackedSandbox}. */
export interface UntrackedSandboxOptions {
  runtime: ContainerRuntime;
  agentId: string;
  logDir: string;
  gracePeriodMs: number;
  keepLog: boolean;
}

/**
 * A delete of an id the agent does not track: a container of ours may still exist (a create that
 * crashed, say), so it is removed too. It is found by its sandbox-id label, as it may be a taken
 * prewarmed container of another id; untaken prewarmed containers carry their own id as sandbox id,
 * but are never deleted this way.
 */
export async function removeUntrackedSandbox(
  sandboxId: string,
  options: UntrackedSandboxOptions,
): Promise<void> {
  const { runtime, logDir, keepLog } = options;
  const containers = await runtime.listContainers({
    [Labels.ManagedBy]: managedByValue,
    [Labels.Agent]: options.agentId,
    [Labels.SandboxId]: sandboxId,
  });
  for (const container of containers) {
    if (container.labels[Labels.Prewarm] === "true" || !isManagedContainer(container.labels, container.id)) {
      continue;
    }
    await runtime.delete(container.id, { gracePeriodMs: options.gracePeriodMs });
    // Only a log in our log dir named after the container is ours to move or remove.
    const logPath = container.labels[Labels.LogPath];
    if (logPath === path.join(logDir, `${container.id}.log`)) {
      await settleLog(logDir, sandboxId, logPath, keepLog);
    }
  }
  // A log kept by an earlier delete goes with the final one.
  if (!keepLog) await rm(keptLogPath(logDir, sandboxId), { force: true });
}

/**
 * At start-up: a crash between Snapshots.Prepare and Containers.Create leaves a snapshot of this
 * agent's labels with no container; `containers` are all the agent's containers found.
 */
export async function removeSnapshotsWithoutContainer(
  runtime: ContainerRuntime,
  agentId: string,
  containers: ReadonlyArray<{ id: string }>,
  log: Logger,
): Promise<void> {
  const containerIds = new Set(containers.map((c) => c.id));
  const snapshots = await runtime.listSnapshots({
    [Labels.ManagedBy]: managedByValue,
    [Labels.Agent]: agentId,
  });
  for (const key of snapshots.filter((k) => !containerIds.has(k))) {
    log.info({ containerId: key }, "removing a snapshot left without its container");
    await runtime.removeSnapshot(key);
  }
}

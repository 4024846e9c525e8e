/**
 * Reading this agent's containers and their tasks from containerd at the agent's own cost: its
 * containers by label (metadata only), then one Tasks.Get per container whose state matters.
 */
import type { ContainerRuntime, ContainerStatus, TaskStatus } from "../containerd/container-runtime.ts";
import { missingTask } from "../containerd/container-status.ts";
import { mapLimit } from "../core/map-limit.ts";

/**
 * Tasks.Get calls in flight at once. Each asks the agent's one shim; a few in parallel hide the round
 * trip without crowding out the creates that share that shim.
 */
export const TASK_READ_CONCURRENCY = 4;

/** A container whose task state a resync reads, and what to do with the answer. */
export interface TaskCheck {
  containerId: string;
  /** Called with the task's state now; `missing` when the container or its task is gone. */
  observe(task: TaskStatus): void;
}

/** What one resync cost. */
export interface ResyncReport {
  /** This agent's containers that containerd holds. */
  containers: number;
  /** Tasks.Get calls made. */
  taskReads: number;
}

/**
 * Reads the state of every checked container and hands it to its check. Checks are gathered before
 * the list is read, so a container missing from the list was gone, not made after the list. Why not
 * Tasks.List: containerd answers it by asking every shim of the namespace (every agent's) for every
 * task, one after another, which queues behind create work on a busy node.
 */
export async function resyncTasks(
  runtime: ContainerRuntime,
  labels: Record<string, string>,
  checks: readonly TaskCheck[],
): Promise<ResyncReport> {
  const present = new Set((await runtime.listContainers(labels)).map((c) => c.id));
  const toRead = checks.filter((check) => present.has(check.containerId));
  for (const check of checks) if (!present.has(check.containerId)) check.observe(missingTask);
  await mapLimit(toRead, TASK_READ_CONCURRENCY, async (check) =>
    check.observe(await runtime.taskStatus(check.containerId)),
  );
  return { containers: present.size, taskReads: toRead.length };
}

/** This agent's containers with their tasks, read the same way (used once, at start-up adoption). */
export async function listOwnContainers(
  runtime: ContainerRuntime,
  labels: Record<string, string>,
): Promise<ContainerStatus[]> {
  const containers = await runtime.listContainers(labels);
  return mapLimit(containers, TASK_READ_CONCURRENCY, async (c) => ({
    ...c,
    task: await runtime.taskStatus(c.id),
  }));
}

/**
 * Reading this agent's containers and their tasks from containerd at the agent's own cost: its
 * containers by label (metadata only), and a Tasks.Get only where the state the agent holds may be stale.
 */
import type { ContainerRuntime, ContainerStatus, TaskStatus } from "../containerd/container-runtime.ts";
import { missingTask } from "../containerd/container-status.ts";
import { mapLimit } from "../core/map-limit.ts";
import { processStartTime } from "../core/process-start.ts";

/**
 * Tasks.Get calls in flight at once. Each asks the agent's one shim; a few in parallel hide the round
 * trip without crowding out the creates that share that shim.
 */
export const TASK_READ_CONCURRENCY = 4;
/** /proc reads (~10 µs each) between two yields to the event loop, so a status request never waits a millisecond on them. */
const PROC_READS_PER_TURN = 100;

/** A container whose task state a resync reads, and what to do with the answer. */
export interface TaskCheck {
  containerId: string;
  /** The pid the agent believes runs the task; lets the resync confirm it from /proc instead of asking containerd. */
  pid?: number;
  /** Called with the task's state when it was read; `missing` when the container or its task is gone. */
  observe(task: TaskStatus): void;
}

/** What one resync cost. */
export interface ResyncReport {
  /** This agent's containers that containerd holds. */
  containers: number;
  /** Tasks.Get calls made. */
  taskReads: number;
  /** Checks answered from /proc: the same process (pid and start time) that containerd last said runs. */
  confirmedLocally: number;
}

/**
 * Resyncs the agent's view with containerd. Why not Tasks.List: containerd answers it by asking every
 * shim of the namespace (every agent's) for every task, one after another.
 *
 * A task that containerd once said runs with pid P is remembered with P's start time; while /proc
 * shows that same process alive (not a zombie, not a reused pid), its task still runs and containerd
 * is not asked. Only a task whose process is gone, or was never confirmed, costs a Tasks.Get; so the
 * first resync reads every running task, later ones only the few that changed. An agent that cannot
 * see the host's pids (no host PID namespace) reads every task every time: slower, still right.
 */
export class TaskResync {
  readonly #runtime: ContainerRuntime;
  readonly #labels: Record<string, string>;
  /** Container id → the process containerd last said runs its task. */
  #confirmed = new Map<string, { pid: number; start: string }>();

  constructor(runtime: ContainerRuntime, labels: Record<string, string>) {
    this.#runtime = runtime;
    this.#labels = labels;
  }

  /**
   * Reads the state of every checked container that may have changed and hands it to its check.
   * Checks are gathered before the list is read, so a container missing from the list was gone, not
   * made after the list.
   */
  async run(checks: readonly TaskCheck[]): Promise<ResyncReport> {
    const present = new Set((await this.#runtime.listContainers(this.#labels)).map((c) => c.id));
    const confirmed = new Map<string, { pid: number; start: string }>();
    const live = checks.filter((check) => present.has(check.containerId));
    for (const check of checks) if (!present.has(check.containerId)) check.observe(missingTask);
    const stillRunning: boolean[] = [];
    for (const [i, check] of live.entries()) {
      if (i > 0 && i % PROC_READS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
      const known = this.#confirmed.get(check.containerId);
      stillRunning.push(
        known !== undefined && known.pid === check.pid && processStartTime(known.pid) === known.start,
      );
    }
    const toRead: TaskCheck[] = [];
    live.forEach((check, i) => {
      const known = this.#confirmed.get(check.containerId);
      if (stillRunning[i] && known) confirmed.set(check.containerId, known);
      else toRead.push(check);
    });
    const confirmedLocally = live.length - toRead.length;
    await mapLimit(toRead, TASK_READ_CONCURRENCY, async (check) => {
      const task = await this.#runtime.taskStatus(check.containerId);
      if (task.state === "running" && task.pid === check.pid) {
        const start = processStartTime(task.pid);
        if (start !== undefined) confirmed.set(check.containerId, { pid: task.pid, start });
      }
      check.observe(task);
    });
    // Only what was checked this time is remembered: a container no longer checked is forgotten.
    this.#confirmed = confirmed;
    return { containers: present.size, taskReads: toRead.length, confirmedLocally };
  }
}

/** This agent's containers with their tasks, one Tasks.Get each (used once, at start-up adoption). */
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

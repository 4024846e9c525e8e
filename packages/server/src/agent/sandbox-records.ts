/** The agent's in-memory view of its sandboxes: kept current by its own calls, task events and resyncs. */
import type { Logger } from "pino";
import type { TaskEvent, TaskExitEvent, TaskStatus } from "../containerd/container-runtime.ts";
import { type SandboxRecord, type SandboxStatus, statusOf } from "./sandbox-record.ts";
import type { AgentSandboxPhase } from "./sandbox-spec.ts";
import type { StatusRevision } from "./status-revision.ts";
import type { TaskCheck } from "./task-resync.ts";

/**
 * The sandboxes of this agent by sandbox id, and the container each one runs in. Status is read
 * from here and never waits on containerd; every change to what it reports bumps the revision.
 */
export class SandboxRecords {
  readonly #advertiseAddress: string;
  readonly #revision: StatusRevision;
  readonly #log: Logger;
  /** By sandbox id. */
  readonly #bySandbox = new Map<string, SandboxRecord>();
  /**
   * Container id → sandbox id. They differ for a sandbox that took a prewarmed container (ids cannot
   * be renamed), so everything that comes from containerd by container id (exits, task states) goes
   * through this map.
   */
  readonly #sandboxOfContainer = new Map<string, string>();
  readonly #exitListeners = new Set<(sandboxId: string) => void>();

  constructor(options: { advertiseAddress: string; revision: StatusRevision; logger: Logger }) {
    this.#advertiseAddress = options.advertiseAddress;
    this.#revision = options.revision;
    this.#log = options.logger;
  }

  get size(): number {
    return this.#bySandbox.size;
  }

  get(sandboxId: string): SandboxRecord | undefined {
    return this.#bySandbox.get(sandboxId);
  }

  values(): IterableIterator<SandboxRecord> {
    return this.#bySandbox.values();
  }

  /** Every sandbox as the agent knows it. */
  list(): SandboxStatus[] {
    return [...this.#bySandbox.values()].map((record) => statusOf(record, this.#advertiseAddress));
  }

  track(record: SandboxRecord): void {
    this.#bySandbox.set(record.identity.sandboxId, record);
    this.#sandboxOfContainer.set(record.identity.containerId, record.identity.sandboxId);
    this.#revision.bump();
  }

  /** Forgets the record, if it is still the one tracked under its id. */
  untrack(record: SandboxRecord): void {
    const { sandboxId, containerId } = record.identity;
    if (this.#bySandbox.get(sandboxId) === record) this.#bySandbox.delete(sandboxId);
    if (this.#sandboxOfContainer.get(containerId) === sandboxId) this.#sandboxOfContainer.delete(containerId);
    this.#revision.bump();
  }

  /**
   * Moves a record to another container (a prewarmed one it takes, or back to its own). Done before
   * the first await of the take, so an exit of a fast process maps to this sandbox.
   */
  moveTo(
    record: SandboxRecord,
    container: { containerId: string; logPath: string },
    options: { freshTask?: boolean } = {},
  ): void {
    const { identity } = record;
    // Back to a container not made yet: what the abandoned one's task did is not this sandbox's.
    if (options.freshTask) {
      record.exitCode = undefined;
      record.exitedAt = undefined;
      record.oomKilled = false;
      record.taskState = "unknown";
    }
    if (this.#sandboxOfContainer.get(identity.containerId) === identity.sandboxId) {
      this.#sandboxOfContainer.delete(identity.containerId);
    }
    identity.containerId = container.containerId;
    identity.logPath = container.logPath;
    this.#sandboxOfContainer.set(container.containerId, identity.sandboxId);
  }

  /** Unmaps a container, so the exit of a container being removed is no sandbox's. */
  forgetContainer(containerId: string): void {
    this.#sandboxOfContainer.delete(containerId);
  }

  setPhase(record: SandboxRecord, phase: AgentSandboxPhase): void {
    if (record.phase === phase) return;
    record.phase = phase;
    this.#revision.bump();
  }

  /** After a start: running, unless the process already exited (its event can beat the start's answer). */
  started(record: SandboxRecord, pid: number): void {
    record.pid = pid;
    if (record.exitCode === undefined) record.taskState = "running";
    this.#revision.bump();
    this.setPhase(record, record.exitCode === undefined ? "Running" : "Exited");
  }

  /** Calls `listener` with a sandbox id whenever its process exits or the sandbox is deleted. */
  onExit(listener: (sandboxId: string) => void): () => void {
    this.#exitListeners.add(listener);
    return () => this.#exitListeners.delete(listener);
  }

  /** Tells exit listeners (log followers) that a sandbox's process is done or the sandbox is gone. */
  notifyExit(sandboxId: string): void {
    for (const listener of this.#exitListeners) listener(sandboxId);
  }

  /**
   * Applies a task event from containerd. Returns false if the container is no sandbox of this agent
   * (a prewarmed container, the anchor, or another agent's), for the caller to route elsewhere.
   */
  handleEvent(event: TaskEvent): boolean {
    const record = this.#ofContainer(event.containerId);
    if (!record) return false;
    if (event.kind === "exit") {
      this.#recordExit(record, event);
    } else {
      record.oomKilled = true;
      this.#revision.bump();
      this.#log.warn({ sandboxId: record.identity.sandboxId }, "the kernel's OOM killer acted in a sandbox");
    }
    return true;
  }

  /**
   * What a resync should read: the tasks of sandboxes believed running. Exited ones keep the final
   * state the agent already holds, and creates and deletes in flight settle by themselves. Each
   * answer is applied only if the sandbox is still the same record, still running, when it comes.
   */
  taskChecks(): TaskCheck[] {
    const checks: TaskCheck[] = [];
    for (const record of this.#bySandbox.values()) {
      if (!isSettledRunning(record)) continue;
      const { sandboxId, containerId } = record.identity;
      checks.push({
        containerId,
        pid: record.pid,
        observe: (task) => {
          const now = this.#bySandbox.get(sandboxId);
          if (now === record && now.identity.containerId === containerId && isSettledRunning(now)) {
            this.#observeTask(record, task);
          }
        },
      });
    }
    return checks;
  }

  /** A resync's answer for a running sandbox: the exit it missed, a container gone, or a paused task. */
  #observeTask(record: SandboxRecord, task: TaskStatus): void {
    const { sandboxId, containerId } = record.identity;
    if (task.state === "stopped") {
      this.#log.info({ sandboxId }, "resync found an exit that no event reported");
      this.#recordExit(record, {
        kind: "exit",
        containerId,
        pid: task.pid,
        exitCode: task.exitCode ?? 0,
        exitedAt: task.exitedAt,
      });
    } else if (task.state === "missing") {
      // Removed behind the agent's back (by hand, say): it runs no more, and no exit code is known.
      this.#log.warn({ sandboxId, containerId }, "sandbox's container or task is gone");
      record.taskState = "missing";
      record.exitedAt ??= new Date();
      this.#revision.bump();
      this.setPhase(record, "Exited");
      this.notifyExit(sandboxId);
    } else if (task.state !== record.taskState) {
      record.taskState = task.state;
      this.#revision.bump();
    }
  }

  #recordExit(record: SandboxRecord, exit: TaskExitEvent): void {
    const { sandboxId } = record.identity;
    record.exitCode = exit.exitCode;
    record.exitedAt = exit.exitedAt ?? new Date();
    record.taskState = "stopped";
    this.#revision.bump();
    if (record.phase === "Running") this.setPhase(record, "Exited");
    this.#log.info(
      { sandboxId, containerId: exit.containerId, exitCode: exit.exitCode, oomKilled: record.oomKilled },
      "sandbox process exited",
    );
    this.notifyExit(sandboxId);
  }

  #ofContainer(containerId: string): SandboxRecord | undefined {
    const sandboxId = this.#sandboxOfContainer.get(containerId);
    return sandboxId === undefined ? undefined : this.#bySandbox.get(sandboxId);
  }
}

/** Running, with no delete under way (a create in flight is still `Creating`). */
function isSettledRunning(record: SandboxRecord): boolean {
  return record.phase === "Running" && record.deleted === undefined;
}

/** The exec'd processes of each sandbox: the per-sandbox cap, lookups, and how long exited ones are kept. */
import { ErrorCode, FsbError } from "@fast-sandbox/api";

/** Processes kept for a while after they exit, so a late reader still gets the output and the exit. */
export interface TableEntry {
  readonly running: boolean;
}

/** Limits of a {@link ProcessTable}. */
export interface ProcessTableLimits {
  /** Running processes (and starts in flight) per sandbox. */
  maxRunning: number;
  /** Exited processes kept per sandbox; the oldest goes first beyond it. */
  maxKeptExited: number;
  /** How long an exited process is kept. */
  keepExitedMs: number;
}

/** Per sandbox: its processes by id, in start order, and the starts not yet added. */
interface SandboxProcesses<P> {
  byId: Map<string, P>;
  starting: number;
  timers: Map<string, NodeJS.Timeout>;
}

export class ProcessTable<P extends TableEntry> {
  readonly #limits: ProcessTableLimits;
  readonly #sandboxes = new Map<string, SandboxProcesses<P>>();

  constructor(limits: ProcessTableLimits) {
    this.#limits = limits;
  }

  /**
   * Takes a place for a process about to start, synchronously, so concurrent starts cannot pass the
   * cap; RESOURCE_EXHAUSTED when the sandbox is full. The returned function gives the place back.
   */
  reserve(sandboxId: string): () => void {
    const entry = this.#entry(sandboxId);
    const running = [...entry.byId.values()].filter((p) => p.running).length;
    if (running + entry.starting >= this.#limits.maxRunning) {
      throw new FsbError(
        ErrorCode.ResourceExhausted,
        `sandbox ${sandboxId} already runs ${running + entry.starting} processes, the most this agent allows (--max-processes ${this.#limits.maxRunning})`,
      );
    }
    entry.starting += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      entry.starting -= 1;
      this.#forgetIfEmpty(sandboxId);
    };
  }

  add(sandboxId: string, processId: string, process: P): void {
    this.#entry(sandboxId).byId.set(processId, process);
  }

  /** A process of a sandbox; NOT_FOUND (field `processId`) if there is none by that id. */
  get(sandboxId: string, processId: string): P {
    const process = this.#sandboxes.get(sandboxId)?.byId.get(processId);
    if (!process) {
      throw new FsbError(ErrorCode.NotFound, `process ${processId} not found in sandbox ${sandboxId}`, {
        field: "processId",
      });
    }
    return process;
  }

  /** The processes of a sandbox, oldest first. */
  list(sandboxId: string): P[] {
    return [...(this.#sandboxes.get(sandboxId)?.byId.values() ?? [])];
  }

  /** Every process of every sandbox. */
  all(): P[] {
    return [...this.#sandboxes.values()].flatMap((e) => [...e.byId.values()]);
  }

  /** A process has exited: keep it for a while, and drop the oldest exited ones beyond the limit. */
  exited(sandboxId: string, processId: string): void {
    const entry = this.#sandboxes.get(sandboxId);
    if (!entry?.byId.has(processId)) return;
    const timer = setTimeout(() => this.#drop(sandboxId, processId), this.#limits.keepExitedMs);
    timer.unref();
    entry.timers.set(processId, timer);
    const exited = [...entry.byId].filter(([, p]) => !p.running).map(([id]) => id);
    for (const id of exited.slice(0, Math.max(0, exited.length - this.#limits.maxKeptExited))) {
      this.#drop(sandboxId, id);
    }
  }

  /** Forgets a sandbox's processes (it is gone), returning them. */
  removeSandbox(sandboxId: string): P[] {
    const entry = this.#sandboxes.get(sandboxId);
    if (!entry) return [];
    for (const timer of entry.timers.values()) clearTimeout(timer);
    entry.timers.clear();
    const processes = [...entry.byId.values()];
    entry.byId.clear();
    this.#forgetIfEmpty(sandboxId);
    return processes;
  }

  #drop(sandboxId: string, processId: string): void {
    const entry = this.#sandboxes.get(sandboxId);
    if (!entry) return;
    clearTimeout(entry.timers.get(processId));
    entry.timers.delete(processId);
    entry.byId.delete(processId);
    this.#forgetIfEmpty(sandboxId);
  }

  #entry(sandboxId: string): SandboxProcesses<P> {
    let entry = this.#sandboxes.get(sandboxId);
    if (!entry) {
      entry = { byId: new Map(), starting: 0, timers: new Map() };
      this.#sandboxes.set(sandboxId, entry);
    }
    return entry;
  }

  #forgetIfEmpty(sandboxId: string): void {
    const entry = this.#sandboxes.get(sandboxId);
    if (entry && entry.byId.size === 0 && entry.starting === 0) this.#sandboxes.delete(sandboxId);
  }
}

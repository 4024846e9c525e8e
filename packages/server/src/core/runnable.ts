/** Runnables and their manager: every long-lived part starts in a set order, reports ready, and stops in reverse. */
import { ErrorCode, FsbError } from "@fast-sandbox/api";

/**
 * A long-lived part of a process. `start` resolves once the part does its job (a server listens,
 * a cache has synced); work it leaves running in the background ends when `signal` aborts. `stop`
 * waits for that work and frees what the part holds. Stop may follow a start that failed or was
 * cut short, and must then free whatever that start got to.
 */
export interface Runnable {
  start(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/** A runnable with no background work: only a start step, or only a stop step, or both. */
export function step(start: (signal: AbortSignal) => unknown, stop?: () => Promise<void>): Runnable {
  return {
    start: async (signal) => {
      await start(signal);
    },
    stop: async () => {
      await stop?.();
    },
  };
}

/**
 * A background loop `run(signal)` as a runnable: started, then optionally waited `until` ready
 * (an informer's first sync); stop waits for the loop to return after the signal aborted.
 */
export function loop(
  run: (signal: AbortSignal) => Promise<unknown>,
  until?: (signal: AbortSignal) => Promise<unknown>,
): Runnable {
  let running: Promise<unknown> | undefined;
  return {
    async start(signal) {
      running = run(signal);
      await until?.(signal);
    },
    async stop() {
      await running;
    },
  };
}

/** Options of {@link RunnableManager}. */
export interface RunnableManagerOptions {
  /** Told about a runnable whose stop failed; the others are stopped all the same. */
  onStopError?: (name: string, err: unknown) => void;
}

interface Entry {
  name: string;
  runnable: Runnable;
  abort: AbortController;
  starting?: Promise<void>;
}

/**
 * Owns the start order, readiness and graceful shutdown of a process's runnables. Start runs them
 * one after the other in the order added; each gets its own signal. Ready is true from the moment
 * the last one has started until stop begins. Stop takes them in reverse order: each one's signal
 * aborts just before its own stop, so everything started later (an API that still answers calls)
 * is gone before the parts it uses stop. A start that fails, or a stop during the start, stops
 * what had started, the one starting included.
 */
export class RunnableManager implements Runnable {
  readonly #pending: Array<{ name: string; runnable: Runnable }> = [];
  readonly #started: Entry[] = [];
  readonly #options: RunnableManagerOptions;
  #ready = false;
  #stopping = false;
  #stopped: Promise<void> | undefined;

  constructor(options: RunnableManagerOptions = {}) {
    this.#options = options;
  }

  /** Adds a runnable after those added before it. */
  add(name: string, runnable: Runnable): this {
    if (this.#started.length > 0 || this.#stopping) {
      throw new FsbError(ErrorCode.FailedPrecondition, `cannot add ${name}: the manager has started`);
    }
    this.#pending.push({ name, runnable });
    return this;
  }

  /** Whether every runnable has started and stop has not begun. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Starts every runnable in order; `signal` aborting stops them as stop() does. */
  async start(signal?: AbortSignal): Promise<void> {
    const onAbort = () => void this.stop();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (const { name, runnable } of this.#pending.splice(0)) {
        if (this.#stopping) throw new FsbError(ErrorCode.Cancelled, `stopped before ${name} started`);
        const entry: Entry = { name, runnable, abort: new AbortController() };
        this.#started.push(entry);
        entry.starting = runnable.start(entry.abort.signal);
        try {
          await entry.starting;
        } catch (err) {
          await this.stop();
          throw err;
        }
      }
      if (this.#stopping) throw new FsbError(ErrorCode.Cancelled, "stopped while starting");
      this.#ready = true;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Stops every runnable that started (or was starting), last first. Idempotent; rejects with the first failure. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#stopping = true;
    this.#ready = false;
    // A start under way ends first (its signal cuts its waits), so no stop runs beside its start.
    const last = this.#started.at(-1);
    if (last) {
      last.abort.abort();
      await last.starting?.catch(() => {});
    }
    let first: { err: unknown } | undefined;
    for (const entry of [...this.#started].reverse()) {
      entry.abort.abort();
      try {
        await entry.runnable.stop();
      } catch (err) {
        first ??= { err };
        this.#options.onStopError?.(entry.name, err);
      }
    }
    if (first) throw first.err;
  }
}

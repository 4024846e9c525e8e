/** Follows containerd's task events and resyncs against containerd: after each (re)subscribe and periodically. */
import type { Logger } from "pino";
import type { ContainerRuntime, TaskEvent } from "../containerd/container-runtime.ts";
import { Wakeup } from "../core/wakeup.ts";
import type { AgentMetrics } from "./agent-metrics.ts";
import type { ResyncReport } from "./task-resync.ts";

/** Waits between attempts to re-subscribe to containerd's task events. */
const RESUBSCRIBE_DELAY_MS = 1000;

/** Options of {@link TaskWatch}. */
export interface TaskWatchOptions {
  runtime: ContainerRuntime;
  logger: Logger;
  metrics: AgentMetrics;
  /** Time between periodic resyncs (`--resync-interval`). */
  intervalMs: number;
  /** Applies one event (exit or OOM) to whoever owns the container. */
  onEvent: (event: TaskEvent) => void;
  /** Reads containerd and repairs the agent's view; its failure is logged and retried at the next one. */
  resync: () => Promise<ResyncReport>;
}

/**
 * Two loops: one follows the event stream (re-subscribing after a break), one runs resyncs, one at
 * a time, whenever asked (after every subscribe) and every `intervalMs`. Neither is on any request's
 * path: status answers from memory whatever containerd is doing.
 */
export class TaskWatch {
  readonly #o: TaskWatchOptions;
  readonly #stop = new AbortController();
  #following: Promise<void> | undefined;
  #resyncing: Promise<void> | undefined;
  /** A resync is waiting on containerd now. */
  #busy = false;
  #resyncWanted = false;
  readonly #resyncWakeup = new Wakeup();

  constructor(options: TaskWatchOptions) {
    this.#o = options;
  }

  start(): void {
    const signal = this.#stop.signal;
    this.#following ??= this.#follow(signal);
    this.#resyncing ??= this.#resyncLoop(signal);
  }

  /**
   * Ends both loops. A resync waiting on containerd is not waited for (a frozen containerd must not
   * hold up a stop): it fails once the caller closes the connection, and its loop then ends quietly.
   */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#following;
    if (!this.#busy) await this.#resyncing;
  }

  /** Asks for a resync as soon as the one running (if any) is done. */
  requestResync(): void {
    this.#resyncWanted = true;
    this.#resyncWakeup.wake();
  }

  async #follow(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const events = this.#o.runtime.taskEvents(signal);
        // The first next() opens the stream; the resync asked for right after it catches what
        // happened before the subscription (the periodic one covers the small window between).
        const first = events.next();
        this.requestResync();
        for (let item = await first; !item.done; item = await events.next()) this.#o.onEvent(item.value);
        if (signal.aborted) return;
        this.#o.logger.warn("task event stream ended; re-subscribing");
      } catch (err) {
        if (signal.aborted) return;
        this.#o.logger.warn({ err }, "task event stream broke; re-subscribing");
      }
      await new Wakeup().sleep(signal, RESUBSCRIBE_DELAY_MS);
    }
  }

  async #resyncLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!this.#resyncWanted) await this.#resyncWakeup.sleep(signal, this.#o.intervalMs);
      if (signal.aborted) return;
      this.#resyncWanted = false;
      const started = performance.now();
      this.#busy = true;
      try {
        const report = await this.#o.resync();
        const seconds = (performance.now() - started) / 1000;
        this.#o.metrics.observeResync("ok", seconds, report);
        this.#o.logger.debug({ ...report, ms: Math.round(seconds * 1000) }, "resynced with containerd");
      } catch (err) {
        if (signal.aborted) return;
        this.#o.metrics.observeResync("error", (performance.now() - started) / 1000);
        this.#o.logger.warn({ err }, "resync with containerd failed; the next one retries");
      } finally {
        this.#busy = false;
      }
    }
  }
}

/** The controller work queue: de-duplicating, rate-limited, with each key handled by one worker at a time. */
import { type Clock, systemClock, type Timer } from "../core/clock.ts";
import { MinHeap } from "./min-heap.ts";
import { RateLimiter, type RateLimiterOptions } from "./rate-limiter.ts";

/** What a handler may ask for: handle the key again after a delay even though it succeeded. */
export interface HandlerResult {
  requeueAfterMs?: number;
}

/** Reconciles one key. A throw retries the key with backoff (addRateLimited); success forgets its backoff. */
export type KeyHandler = (
  key: string,
  signal: AbortSignal,
  // biome-ignore lint/suspicious/noConfusingVoidType: most handlers return nothing, and `async () => {}` is void.
) => Promise<HandlerResult | void>;

export interface WorkQueueOptions extends RateLimiterOptions {
  clock?: Clock;
  /** Told about every handler failure (the key is retried with backoff regardless). */
  onError?: (key: string, error: unknown) => void;
}

interface Delayed {
  at: number;
  seq: number;
  key: string;
}

/**
 * Keys wait in FIFO order; a key queued twice is handled once, and a key added while a worker handles
 * it is queued again only when that worker is done, so no key is ever handled concurrently.
 * `shutDown()` stops accepting keys but lets the workers drain what is queued; delayed keys are dropped.
 */
export class WorkQueue {
  readonly #clock: Clock;
  readonly #limiter: RateLimiter;
  readonly #onError: (key: string, error: unknown) => void;
  #queue: string[] = [];
  #head = 0;
  /** Keys that need handling: queued, or added again while being handled. */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  #waiters: Array<(key: string | undefined) => void> = [];
  /** Earliest due time of each delayed key; heap entries that disagree are stale and skipped. */
  readonly #waiting = new Map<string, number>();
  readonly #delayed = new MinHeap<Delayed>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));
  #seq = 0;
  #timer: { at: number; timer: Timer } | undefined;
  #shuttingDown = false;
  #running = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#limiter = new RateLimiter(this.#clock, options);
    this.#onError = options.onError ?? (() => {});
  }

  /** Queues `key` unless it is queued already. Ignored after shutDown. */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
    } else {
      this.#queue.push(key);
    }
  }

  /** Queues `key` after `ms`; if the key is already waiting, the earlier time wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const at = this.#clock.now() + ms;
    const current = this.#waiting.get(key);
    if (current !== undefined && current <= at) return;
    this.#waiting.set(key, at);
    this.#delayed.push({ at, seq: this.#seq++, key });
    this.#schedule();
  }

  /** Queues `key` after its backoff (growing with each call until forget) or the overall rate limit. */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    this.addAfter(key, this.#limiter.when(key));
  }

  /** Resets the backoff of `key`. */
  forget(key: string): void {
    this.#limiter.forget(key);
  }

  /** How often `key` was rate-limited since it was last forgotten. */
  numRequeues(key: string): number {
    return this.#limiter.numRequeues(key);
  }

  /** Keys queued and not yet handed to a worker. */
  get length(): number {
    return this.#queue.length - this.#head;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Stops accepting keys and drops delayed ones; queued keys are still handed out, then workers exit. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    this.#timer?.timer.cancel();
    this.#timer = undefined;
    this.#waiting.clear();
    this.#delayed.clear();
    // Waiting workers only exist while nothing is queued, so they can all stop now.
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter(undefined);
  }

  /**
   * Runs `workers` loops that hand keys to `handler` until the queue is shut down (by shutDown or by
   * `signal` aborting) and drained. Resolves when every worker has stopped.
   */
  async run(workers: number, handler: KeyHandler, signal?: AbortSignal): Promise<void> {
    if (this.#running) throw new Error("WorkQueue.run: already running");
    this.#running = true;
    const stop = (): void => this.shutDown();
    if (signal?.aborted) stop();
    signal?.addEventListener("abort", stop, { once: true });
    const handlerSignal = signal ?? new AbortController().signal;
    try {
      await Promise.all(
        Array.from({ length: Math.max(1, workers) }, () => this.#work(handler, handlerSignal)),
      );
    } finally {
      signal?.removeEventListener("abort", stop);
      this.#running = false;
    }
  }

  async #work(handler: KeyHandler, signal: AbortSignal): Promise<void> {
    for (let key = await this.#get(); key !== undefined; key = await this.#get()) {
      try {
        const result = await handler(key, signal);
        this.forget(key);
        if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        this.#onError(key, err);
        this.addRateLimited(key);
      } finally {
        this.#done(key);
      }
    }
  }

  #get(): Promise<string | undefined> {
    if (this.#head < this.#queue.length) {
      const key = this.#queue[this.#head++]!;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#dirty.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #done(key: string): void {
    this.#processing.delete(key);
    if (!this.#dirty.has(key)) return;
    // Added while being handled: queue it now (even while shutting down, so the latest add is handled).
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      waiter(key);
    } else {
      this.#queue.push(key);
    }
  }

  /** Keeps one timer armed for the earliest delayed key. */
  #schedule(): void {
    const next = this.#delayed.peek();
    if (next === undefined || (this.#timer !== undefined && this.#timer.at <= next.at)) return;
    this.#timer?.timer.cancel();
    const at = next.at;
    this.#timer = { at, timer: this.#clock.setTimer(() => this.#fire(), at - this.#clock.now()) };
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (let next = this.#delayed.peek(); next !== undefined && next.at <= now; next = this.#delayed.peek()) {
      this.#delayed.pop();
      if (this.#waiting.get(next.key) !== next.at) continue;
      this.#waiting.delete(next.key);
      this.add(next.key);
    }
    this.#schedule();
  }
}

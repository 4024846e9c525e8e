/** One watcher's buffered event stream: writers push without waiting, the consumer iterates at its own pace. */
import { ErrorCode, FsbError } from "@fast-sandbox/api";

export interface WatchStreamOptions<Raw, T> {
  /** Most live items buffered before the watch ends with OUT_OF_RANGE (the consumer must re-list). */
  limit: number;
  /** Turns a buffered item into what the consumer gets; a throw ends the watch with that error. */
  decode: (raw: Raw) => T;
  /** Called once when the stream stops for any reason, to unregister it from its source. */
  onClose: () => void;
  signal: AbortSignal;
}

/**
 * An AsyncIterator over a backlog (replayed history, not bounded: the source bounds it) followed by
 * live items. Pushing never blocks; a consumer that falls more than `limit` live items behind is cut
 * off with OUT_OF_RANGE rather than slowing writers or growing without bound.
 */
export class WatchStream<Raw, T> implements AsyncIterableIterator<T> {
  readonly #options: WatchStreamOptions<Raw, T>;
  #backlog: Raw[] = [];
  #backlogHead = 0;
  #live: Raw[] = [];
  #liveHead = 0;
  #closed = false;
  #error: Error | undefined;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  readonly #onAbort = (): void => this.#close(undefined);

  constructor(options: WatchStreamOptions<Raw, T>) {
    this.#options = options;
    if (options.signal.aborted) this.#close(undefined);
    else options.signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Queues history to deliver before any live item. */
  preload(items: Raw[]): void {
    if (!this.#closed) this.#backlog.push(...items);
  }

  /** Delivers or buffers a live item. */
  push(item: Raw): void {
    if (this.#closed) return;
    if (this.#waiter !== undefined && this.#pending() === 0) {
      this.#deliver(item);
      return;
    }
    if (this.#live.length - this.#liveHead >= this.#options.limit) {
      const message = `watch fell more than ${this.#options.limit} events behind; re-list and watch again`;
      this.fail(new FsbError(ErrorCode.OutOfRange, message));
      return;
    }
    this.#live.push(item);
  }

  /** Ends the stream with an error that the consumer's next `next()` throws. */
  fail(error: Error): void {
    this.#close(error);
  }

  /** Whether the stream has stopped (aborted, failed or returned). */
  get closed(): boolean {
    return this.#closed;
  }

  next(): Promise<IteratorResult<T>> {
    const raw = this.#take();
    if (raw !== undefined) return this.#decode(raw);
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      return Promise.reject(error);
    }
    if (this.#closed) return Promise.resolve({ done: true, value: undefined });
    if (this.#waiter !== undefined) return Promise.reject(new Error("WatchStream: concurrent next() calls"));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.#close(undefined);
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #pending(): number {
    return this.#backlog.length - this.#backlogHead + this.#live.length - this.#liveHead;
  }

  #take(): Raw | undefined {
    if (this.#backlogHead < this.#backlog.length) {
      const raw = this.#backlog[this.#backlogHead++]!;
      if (this.#backlogHead === this.#backlog.length) {
        this.#backlog = [];
        this.#backlogHead = 0;
      }
      return raw;
    }
    if (this.#liveHead < this.#live.length) {
      const raw = this.#live[this.#liveHead++]!;
      // Compact now and then so a long-lived watch does not keep delivered items alive.
      if (this.#liveHead === this.#live.length) {
        this.#live = [];
        this.#liveHead = 0;
      } else if (this.#liveHead > 1024 && this.#liveHead * 2 > this.#live.length) {
        this.#live = this.#live.slice(this.#liveHead);
        this.#liveHead = 0;
      }
      return raw;
    }
    return undefined;
  }

  #decode(raw: Raw): Promise<IteratorResult<T>> {
    try {
      return Promise.resolve({ done: false, value: this.#options.decode(raw) });
    } catch (err) {
      this.#close(undefined);
      return Promise.reject(err);
    }
  }

  #deliver(raw: Raw): void {
    const waiter = this.#waiter!;
    this.#waiter = undefined;
    this.#decode(raw).then(waiter.resolve, waiter.reject);
  }

  // Stopping drops whatever is buffered: after an abort nobody wants it, after an error the consumer re-lists.
  #close(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.signal.removeEventListener("abort", this.#onAbort);
    this.#backlog = [];
    this.#backlogHead = 0;
    this.#live = [];
    this.#liveHead = 0;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter !== undefined) {
      if (error !== undefined) waiter.reject(error);
      else waiter.resolve({ done: true, value: undefined });
    } else {
      this.#error = error;
    }
    this.#options.onClose();
  }
}

/** Retry pacing for work queues: per-key exponential backoff combined with an overall token bucket. */
import type { Clock } from "../core/clock.ts";

/** Per-key exponential backoff: `baseMs`, doubling with each failure, capped at `maxMs`. */
export class ExponentialBackoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #failures = new Map<string, number>();

  constructor(options: { baseMs: number; maxMs: number }) {
    this.#baseMs = options.baseMs;
    this.#maxMs = options.maxMs;
  }

  /** The delay for the next retry of `key`, counting this failure. */
  next(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // Past ~50 doublings any base exceeds any sane cap; stop there so the power cannot overflow.
    return Math.min(this.#maxMs, this.#baseMs * 2 ** Math.min(failures, 50));
  }

  /** Failures counted for `key` since it was last forgotten. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Resets `key` to the base delay (after it succeeded). */
  forget(key: string): void {
    this.#failures.delete(key);
  }
}

/**
 * A token bucket of `burst` tokens refilled at `qps` per second. Each reservation takes a token now or,
 * if none is left, the next one to come: the returned delay spaces out retries of all keys together.
 */
export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;

  constructor(options: { qps: number; burst: number; clock: Clock }) {
    this.#qps = options.qps;
    this.#burst = options.burst;
    this.#clock = options.clock;
    this.#tokens = options.burst;
    this.#last = options.clock.now();
  }

  /** Takes a token; returns how many milliseconds to wait before using it. */
  reserve(): number {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) * this.#qps) / 1000);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.#qps);
  }
}

export interface RateLimiterOptions {
  /** First retry delay of a key (default 5 ms). */
  baseDelayMs?: number;
  /** Longest retry delay of a key (default 30 s). */
  maxDelayMs?: number;
  /** Overall retries per second once the burst is spent (default 10). */
  qps?: number;
  /** Retries allowed at once before `qps` applies (default 100). */
  burst?: number;
}

/** The controller default: the larger of the key's backoff and the overall bucket's delay. */
export class RateLimiter {
  readonly #backoff: ExponentialBackoff;
  readonly #bucket: TokenBucket;

  constructor(clock: Clock, options: RateLimiterOptions = {}) {
    this.#backoff = new ExponentialBackoff({
      baseMs: options.baseDelayMs ?? 5,
      maxMs: options.maxDelayMs ?? 30_000,
    });
    this.#bucket = new TokenBucket({ qps: options.qps ?? 10, burst: options.burst ?? 100, clock });
  }

  /** The delay before `key` may be retried, counting this retry. */
  when(key: string): number {
    return Math.max(this.#backoff.next(key), this.#bucket.reserve());
  }

  numRequeues(key: string): number {
    return this.#backoff.failures(key);
  }

  forget(key: string): void {
    this.#backoff.forget(key);
  }
}

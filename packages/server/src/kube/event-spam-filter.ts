/** Per-object token buckets that stop one object's events from flooding the API server (client-go's spam filter). */
import { LruMap } from "./lru-map.ts";

/** As client-go's recorder: 25 events at once per object, then one more every 5 minutes. */
export const SPAM_BURST = 25;
export const SPAM_REFILL_MS = 5 * 60_000;
/** Objects whose buckets are remembered; the least recently seen is forgotten first (client-go: 4096). */
export const EVENT_CACHE_SIZE = 4096;

export interface SpamFilterOptions {
  burst?: number;
  /** Milliseconds to earn one token back. */
  refillMs?: number;
  cacheSize?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * One bucket per object (the recorder is the source, so the object alone is the key). A bucket
 * starts full; each event takes a token; tokens come back one per `refillMs` up to `burst`.
 */
export class EventSpamFilter {
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #buckets: LruMap<string, Bucket>;

  constructor(options: SpamFilterOptions = {}) {
    this.#burst = options.burst ?? SPAM_BURST;
    this.#refillMs = options.refillMs ?? SPAM_REFILL_MS;
    this.#buckets = new LruMap(options.cacheSize ?? EVENT_CACHE_SIZE);
  }

  /** Whether an event about `objectKey` may be written at `now`; takes its token if so. */
  allow(objectKey: string, now: number): boolean {
    const last = this.#buckets.get(objectKey);
    const earned = last ? Math.max(now - last.at, 0) / this.#refillMs : this.#burst;
    const tokens = Math.min(this.#burst, (last?.tokens ?? 0) + earned);
    const allowed = tokens >= 1;
    this.#buckets.set(objectKey, { tokens: allowed ? tokens - 1 : tokens, at: now });
    return allowed;
  }
}

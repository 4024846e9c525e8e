/** Recent releases by key, so a status report taken before a release cannot bring the freed slot back. */

/** How long a release is remembered: longer than any status probe can be in flight. */
const RELEASE_MEMORY_MS = 60_000;

export class ReleaseMemory {
  readonly #now: () => number;
  /** Release time by key, oldest first. */
  readonly #released = new Map<string, number>();

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Notes that `key` was released now, and forgets releases older than the memory. */
  remember(key: string): void {
    const now = this.#now();
    this.#released.delete(key);
    this.#released.set(key, now);
    // Insertion order is release order: drop from the front until the rest is recent.
    for (const [old, at] of this.#released) {
      if (now - at <= RELEASE_MEMORY_MS) break;
      this.#released.delete(old);
    }
  }

  /** Whether `key` was released at or after `since` (epoch ms). */
  releasedSince(key: string, since: number): boolean {
    const at = this.#released.get(key);
    return at !== undefined && at >= since;
  }
}

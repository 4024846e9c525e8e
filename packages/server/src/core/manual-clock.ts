/** A clock for tests that only moves when told to, firing due timers in order. */
import type { Clock, Timer } from "./clock.ts";

interface Pending {
  at: number;
  seq: number;
  callback: () => void;
}

// Lets promise chains and I/O callbacks started by a timer run before the next timer fires.
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Pending[] = [];

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, ms: number): Timer {
    const timer: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, callback };
    this.#timers.push(timer);
    return { cancel: () => this.#remove(timer) };
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  /** When the next timer is due, if any. */
  get nextAt(): number | undefined {
    return this.#earliest()?.at;
  }

  /** Moves time forward by `ms`, firing each due timer at its own time and letting its work settle. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (let next = this.#earliest(); next !== undefined && next.at <= target; next = this.#earliest()) {
      this.#remove(next);
      this.#now = next.at;
      next.callback();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  #earliest(): Pending | undefined {
    let best: Pending | undefined;
    for (const t of this.#timers)
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }

  #remove(timer: Pending): void {
    const i = this.#timers.indexOf(timer);
    if (i >= 0) this.#timers.splice(i, 1);
  }
}

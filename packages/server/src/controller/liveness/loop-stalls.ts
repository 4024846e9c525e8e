/** Records when this process's event loop stalled, so a probe never blames an agent for the controller's own pauses. */
import { type Clock, systemClock } from "../../core/clock.ts";

/** How often the loop is sampled; a stall shorter than this plus the slack goes unnoticed, harmlessly. */
export const STALL_TICK_MS = 100;
/** Timers are routinely a few ms late; only lateness beyond this is a stall. */
export const TIMER_SLACK_MS = 50;
/** Stalls older than this cannot overlap any probe still being judged. */
const MEMORY_MS = 10 * 60_000;

/** Where a probe asks how long the controller itself was stalled within a window. */
export interface StallSource {
  /** Milliseconds of [from, to] (epoch ms) during which the event loop did not run. */
  stalledMs(from: number, to: number): number;
}

/**
 * A ticker that notices late ticks. A tick that arrives more than {@link TIMER_SLACK_MS} after it
 * was due means nothing ran on the loop in between: that span is recorded as a stall.
 */
export class LoopStalls implements StallSource {
  readonly #clock: Clock;
  readonly #stalls: Array<{ from: number; to: number }> = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  /** Starts sampling (idempotent); the ticker never keeps the process alive. */
  start(): void {
    if (this.#timer) return;
    this.#last = this.#clock.now();
    this.#timer = setInterval(() => this.#tick(), STALL_TICK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Records a stall (the ticker does this; tests call it directly). */
  record(from: number, to: number): void {
    if (to <= from) return;
    this.#stalls.push({ from, to });
    while (this.#stalls.length > 0 && to - this.#stalls[0]!.to > MEMORY_MS) this.#stalls.shift();
  }

  stalledMs(from: number, to: number): number {
    let total = 0;
    for (const s of this.#stalls) total += Math.max(0, Math.min(to, s.to) - Math.max(from, s.from));
    return total;
  }

  #tick(): void {
    const now = this.#clock.now();
    if (now - this.#last > STALL_TICK_MS + TIMER_SLACK_MS) this.record(this.#last, now);
    this.#last = now;
  }
}

/** An idle wait that another part of the process can cut short: how background workers sleep. */

/**
 * One worker sleeps on it at a time; {@link wake} ends the current sleep early (and does nothing when
 * nobody sleeps: workers re-check their state before sleeping, so a wake-up never needs keeping).
 */
export class Wakeup {
  #wake: (() => void) | undefined;

  /** Resolves when woken, after `timeoutMs` (if given), or when `signal` aborts. */
  sleep(signal: AbortSignal, timeoutMs?: number): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      this.#wake = done;
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  wake(): void {
    this.#wake?.();
  }
}

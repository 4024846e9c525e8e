/** A level-free "something changed" signal: waiters subscribe, a notify wakes every one of them once. */

/**
 * Wakes whoever waits for the next change. Waiters must subscribe before they look at the state
 * the signal guards (see {@link ChangeSignal.next}), so a change between the look and the wait is
 * never missed.
 */
export class ChangeSignal {
  #listeners = new Set<() => void>();

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A promise of the next change, plus `cancel` to stop listening. Take it before checking the
   * state, then await it if the state was not good enough.
   */
  next(): { changed: Promise<void>; cancel: () => void } {
    let cancel = () => {};
    const changed = new Promise<void>((resolve) => {
      const unsubscribe = this.subscribe(() => {
        unsubscribe();
        resolve();
      });
      cancel = unsubscribe;
    });
    return { changed, cancel };
  }

  /** Wakes every current listener. Listeners added while it runs wait for the next change. */
  notify(): void {
    if (this.#listeners.size === 0) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch {
        // One broken listener must not keep the others from waking.
      }
    }
  }
}

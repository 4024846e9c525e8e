/** Lets a create wait for its Sandbox to settle, woken by the reconciler's status writes rather than polling. */
import type { Sandbox } from "@fast-sandbox/api";

type Check = (sandbox: Sandbox) => boolean;

interface Waiter {
  check: Check;
  resolve: (sandbox: Sandbox) => void;
}

/** Waiters keyed by object uid, so a recreated object of the same name never wakes an old waiter. */
export class StatusWaiters {
  readonly #waiters = new Map<string, Set<Waiter>>();

  /** Resolves with the first status for `uid` that passes `check`; rejects when `signal` aborts. */
  wait(uid: string, check: Check, signal: AbortSignal): Promise<Sandbox> {
    return new Promise((resolve, reject) => {
      const set = this.#waiters.get(uid) ?? new Set<Waiter>();
      this.#waiters.set(uid, set);
      const waiter: Waiter = {
        check,
        resolve: (sandbox) => {
          cleanup();
          resolve(sandbox);
        },
      };
      const onAbort = () => {
        cleanup();
        reject(signal.reason);
      };
      const cleanup = () => {
        set.delete(waiter);
        if (set.size === 0) this.#waiters.delete(uid);
        signal.removeEventListener("abort", onAbort);
      };
      set.add(waiter);
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Offers a freshly written object to its waiters. */
  notify(sandbox: Sandbox): void {
    const set = this.#waiters.get(sandbox.metadata.uid);
    if (!set) return;
    for (const waiter of [...set]) if (waiter.check(sandbox)) waiter.resolve(sandbox);
  }
}

/** Lets a create follow its Sandbox's status, woken by the reconciler's status writes rather than polling. */
import type { FsbError, Sandbox } from "@fast-sandbox/api";

/** One status the reconciler wrote (or found unchanged after an attempt), and the create error behind it, if any. */
export type StatusListener = (sandbox: Sandbox, failure?: FsbError) => void;

/** Listeners keyed by object uid, so a recreated object of the same name never wakes an old listener. */
export class StatusWaiters {
  readonly #listeners = new Map<string, Set<StatusListener>>();

  /** Calls `listener` with every status of object `uid` until the returned function is called. */
  subscribe(uid: string, listener: StatusListener): () => void {
    const set = this.#listeners.get(uid) ?? new Set<StatusListener>();
    this.#listeners.set(uid, set);
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(uid) === set) this.#listeners.delete(uid);
    };
  }

  /** Offers a freshly written (or re-confirmed) object to its listeners. */
  notify(sandbox: Sandbox, failure?: FsbError): void {
    const set = this.#listeners.get(sandbox.metadata.uid);
    if (!set) return;
    for (const listener of [...set]) listener(sandbox, failure);
  }
}

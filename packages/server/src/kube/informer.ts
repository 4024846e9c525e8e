/** A small informer: list and watch one kind through a ListWatcher into a cache, and tell handlers what changed. */
import { ErrorCode, isFsbError, objectKey, type StoredObject } from "@fast-sandbox/api";
import { type Clock, sleep, systemClock } from "../core/clock.ts";
import type { ListWatcher, WatchEvent } from "./list-watch.ts";

/**
 * Change handlers. Objects are the cache's own and deeply frozen: copy (structuredClone) before editing.
 * A handler that throws is logged and does not stop the informer.
 */
export interface InformerHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** `obj` is the last state known: the DELETED event's object, or the cached one after a re-list. */
  onDelete?(obj: T): void;
}

/** Where the informer reports trouble; a pino Logger fits. */
export interface InformerLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface InformerOptions {
  kind: string;
  namespace?: string;
  labelSelector?: string;
  clock?: Clock;
  /** First retry delay after a failed list or watch (default 200 ms), doubling up to `maxBackoffMs`. */
  minBackoffMs?: number;
  /** Longest retry delay (default 30 s). */
  maxBackoffMs?: number;
  logger?: InformerLogger;
}

const silent: InformerLogger = { warn: () => {} };

/**
 * Keeps `kind` (optionally one namespace and label selector) cached. `run` lists, then watches from the
 * list's version; when the watch ends normally it watches again from the last version seen, and when it
 * fails (OUT_OF_RANGE at once, other errors after a backoff) it re-lists and reconciles the cache with
 * the list, calling the handlers for whatever changed in between.
 */
export class Informer<Spec = unknown, Status = unknown> {
  readonly #store: ListWatcher;
  readonly #options: InformerOptions;
  readonly #clock: Clock;
  readonly #log: InformerLogger;
  readonly #cache = new Map<string, StoredObject<Spec, Status>>();
  readonly #handlers: Array<InformerHandlers<StoredObject<Spec, Status>>> = [];
  #synced = false;
  #syncWaiters: Array<() => void> = [];
  #resourceVersion = "";

  constructor(store: ListWatcher, options: InformerOptions) {
    this.#store = store;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger ?? silent;
  }

  /** Adds handlers; once synced, they first get onAdd for every cached object, as a late subscriber would. */
  addHandlers(handlers: InformerHandlers<StoredObject<Spec, Status>>): void {
    this.#handlers.push(handlers);
    if (this.#synced)
      for (const obj of this.#cache.values()) this.#call("onAdd", () => handlers.onAdd?.(obj));
  }

  /** Whether the first list has been loaded into the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves true once synced, or false if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => resolve(false);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      });
    });
  }

  get(namespace: string, name: string): StoredObject<Spec, Status> | undefined {
    return this.#cache.get(objectKey(namespace, name));
  }

  list(namespace?: string): Array<StoredObject<Spec, Status>> {
    const all = [...this.#cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  /** The version of the newest change the cache reflects. */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Lists and watches until `signal` aborts. Never rejects: failures are retried. */
  async run(signal: AbortSignal): Promise<void> {
    const { kind, namespace, labelSelector } = this.#options;
    const minMs = this.#options.minBackoffMs ?? 200;
    const maxMs = this.#options.maxBackoffMs ?? 30_000;
    let failures = 0;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          const listed = await this.#store.list<Spec, Status>(kind, { namespace, labelSelector });
          this.#replace(listed.items, listed.resourceVersion);
          needList = false;
        }
        const options = { namespace, labelSelector, resourceVersion: this.#resourceVersion };
        for await (const event of this.#store.watch<Spec, Status>(kind, options, signal)) {
          this.#apply(event);
          failures = 0;
        }
        // A watch that ends without an error (a server-side timeout) continues from where it was.
      } catch (err) {
        if (signal.aborted) break;
        needList = true;
        failures++;
        const expired = isFsbError(err, ErrorCode.OutOfRange);
        // A watch that expired re-lists at once, as client-go does; repeated trouble backs off.
        const delay =
          expired && failures === 1 ? 0 : Math.min(maxMs, minMs * 2 ** Math.min(failures - 1, 30));
        this.#log.warn(
          { kind, namespace, err, retryInMs: delay },
          expired ? "watch expired; re-listing" : "list or watch failed; re-listing after a backoff",
        );
        if (delay > 0) await sleep(this.#clock, delay, signal);
      }
    }
  }

  /** Makes the cache equal to a fresh list, telling handlers about each difference. */
  #replace(items: Array<StoredObject<Spec, Status>>, resourceVersion: string): void {
    const next = new Map(items.map((o) => [objectKey(o.metadata.namespace, o.metadata.name), deepFreeze(o)]));
    for (const [key, old] of this.#cache) {
      if (!next.has(key)) {
        this.#cache.delete(key);
        this.#emitDelete(old);
      }
    }
    for (const [key, obj] of next) this.#upsert(key, obj);
    this.#resourceVersion = resourceVersion;
    if (!this.#synced) {
      this.#synced = true;
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #apply(event: WatchEvent<StoredObject<Spec, Status>>): void {
    const obj = deepFreeze(event.object);
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    if (event.type === "DELETED") {
      if (this.#cache.delete(key)) this.#emitDelete(obj);
    } else {
      this.#upsert(key, obj);
    }
    this.#resourceVersion = obj.metadata.resourceVersion;
  }

  #upsert(key: string, obj: StoredObject<Spec, Status>): void {
    const old = this.#cache.get(key);
    this.#cache.set(key, obj);
    if (old === undefined) {
      this.#emitAdd(obj);
    } else if (old.metadata.uid !== obj.metadata.uid) {
      // Deleted and recreated while we were not watching: two objects, not one that changed.
      this.#emitDelete(old);
      this.#emitAdd(obj);
    } else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) {
      for (const h of this.#handlers) this.#call("onUpdate", () => h.onUpdate?.(old, obj));
    }
  }

  #emitAdd(obj: StoredObject<Spec, Status>): void {
    for (const h of this.#handlers) this.#call("onAdd", () => h.onAdd?.(obj));
  }

  #emitDelete(obj: StoredObject<Spec, Status>): void {
    for (const h of this.#handlers) this.#call("onDelete", () => h.onDelete?.(obj));
  }

  #call(handler: string, body: () => void): void {
    try {
      body();
    } catch (err) {
      this.#log.warn({ kind: this.#options.kind, handler, err }, "informer handler threw");
    }
  }
}

/** Freezes `value` and everything inside it, so a handler cannot corrupt the shared cache by accident. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

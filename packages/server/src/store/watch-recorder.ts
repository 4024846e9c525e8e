/** Test helpers for store suites: a background watch that records events, and sample objects. */
import { API_VERSION, ErrorCode, isFsbError, type NewObject, type StoredObject } from "@fast-sandbox/api";
import type { WatchEvent, WatchOptions } from "../kube/list-watch.ts";
import type { ObjectStore } from "./object-store.ts";

export type TestSpec = { image: string; args?: string[] };
export type TestStatus = { phase?: string; count?: number; [key: string]: unknown };
export type TestObject = StoredObject<TestSpec, TestStatus>;

/** A Sandbox-kind object with a spec the real Sandbox resource would accept too. */
export function sandbox(
  namespace: string,
  name: string,
  meta: { labels?: Record<string, string>; finalizers?: string[] } = {},
): NewObject<TestSpec, TestStatus> {
  return {
    apiVersion: API_VERSION,
    kind: "Sandbox",
    metadata: { namespace, name, ...meta },
    spec: { image: "busybox:1" },
  };
}

/** Retries `write` while it loses optimistic-concurrency races, as controllers do. */
export async function retryOnConflict<T>(write: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await write();
    } catch (err) {
      if (!isFsbError(err, ErrorCode.Aborted)) throw err;
    }
  }
}

/** A watch consumed in the background; `waitFor` waits (bounded) until the recorded events satisfy a check. */
export class WatchRecorder {
  readonly events: Array<WatchEvent<TestObject>> = [];
  error: unknown;
  ended = false;
  readonly #abort = new AbortController();
  readonly #done: Promise<void>;
  #wake: () => void = () => {};
  #changed: Promise<void>;

  constructor(store: ObjectStore, kind: string, options: WatchOptions, signal?: AbortSignal) {
    this.#changed = this.#nextChange();
    const watchSignal = signal ? AbortSignal.any([signal, this.#abort.signal]) : this.#abort.signal;
    this.#done = (async () => {
      try {
        for await (const event of store.watch<TestSpec, TestStatus>(kind, options, watchSignal)) {
          this.events.push(event);
          this.#wake();
        }
      } catch (err) {
        this.error = err;
      } finally {
        this.ended = true;
        this.#wake();
      }
    })();
  }

  /** Waits until `check(events)` holds; fails after `timeoutMs` or if the watch ends first. */
  async waitFor(check: (events: Array<WatchEvent<TestObject>>) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this.events)) {
      if (this.ended)
        throw new Error(`watch ended before the expected events arrived: ${String(this.error)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for watch events; got ${this.describe()}`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#changed, new Promise((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
  }

  /** Waits for the event of the write that returned `obj` (same resourceVersion). */
  waitForVersion(obj: { metadata: { resourceVersion: string } }): Promise<void> {
    const rv = obj.metadata.resourceVersion;
    return this.waitFor((events) => events.some((e) => e.object.metadata.resourceVersion === rv));
  }

  /** Waits until the watch ends (bounded), leaving `error` set if it failed. */
  async waitForEnd(timeoutMs = 5000): Promise<void> {
    await this.waitFor(() => this.ended, timeoutMs).catch((err) => {
      if (!this.ended) throw err;
    });
  }

  /** Compact `TYPE name` list of what arrived, for assertions and failure messages. */
  describe(): string[] {
    return this.events.map((e) => `${e.type} ${e.object.metadata.name}`);
  }

  /** Aborts the watch and waits for the iteration to finish. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }

  #nextChange(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#changed = this.#nextChange();
        resolve();
      };
    });
  }
}

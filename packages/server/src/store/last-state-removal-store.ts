/**
 * Test support: an ObjectStore view that answers removals as the Kubernetes API server does, so the store
 * contract's `removalReturnsItsVersion: false` paths run against the embedded store, without a cluster.
 */
import { ErrorCode, isFsbError, type NewObject, type StoredObject } from "@fast-sandbox/api";
import type { ListOptions, ListResult, WatchEvent, WatchOptions } from "../kube/list-watch.ts";
import type { DeleteOptions, ObjectStore } from "./object-store.ts";

/**
 * A delete that removes an object answers with the object as last stored (its version is the one
 * before the removal); an update that removes the last finalizer of a deleting object answers with the
 * version it was asked to update. Only the DELETED event tells the removal's own version.
 */
export class LastStateRemovalStore implements ObjectStore {
  readonly #inner: ObjectStore;

  constructor(inner: ObjectStore) {
    this.#inner = inner;
  }

  get writesAreLocal(): boolean {
    return this.#inner.writesAreLocal === true;
  }

  create<Spec, Status>(obj: NewObject<Spec, Status>): Promise<StoredObject<Spec, Status>> {
    return this.#inner.create(obj);
  }

  get<Spec, Status>(kind: string, namespace: string, name: string): Promise<StoredObject<Spec, Status>> {
    return this.#inner.get(kind, namespace, name);
  }

  list<Spec, Status>(kind: string, options?: ListOptions): Promise<ListResult<StoredObject<Spec, Status>>> {
    return this.#inner.list(kind, options);
  }

  async update<Spec, Status>(obj: StoredObject<Spec, Status>): Promise<StoredObject<Spec, Status>> {
    const answer = await this.#inner.update(obj);
    if (await this.#exists(answer)) return answer;
    return { ...answer, metadata: { ...answer.metadata, resourceVersion: obj.metadata.resourceVersion } };
  }

  updateStatus<Spec, Status>(obj: StoredObject<Spec, Status>): Promise<StoredObject<Spec, Status>> {
    return this.#inner.updateStatus(obj);
  }

  async delete<Spec, Status>(
    kind: string,
    namespace: string,
    name: string,
    options?: DeleteOptions,
  ): Promise<StoredObject<Spec, Status>> {
    const before = await this.#inner.get<Spec, Status>(kind, namespace, name);
    const answer = await this.#inner.delete<Spec, Status>(kind, namespace, name, options);
    return (await this.#exists(answer)) ? answer : before;
  }

  // Each event comes in a macrotask of its own, as events read off a connection do, so a test that
  // stops waiting too early sees the history cut short instead of complete by luck.
  async *watch<Spec, Status>(
    kind: string,
    options: WatchOptions,
    signal: AbortSignal,
  ): AsyncIterable<WatchEvent<StoredObject<Spec, Status>>> {
    for await (const event of this.#inner.watch<Spec, Status>(kind, options, signal)) {
      await new Promise((resolve) => setImmediate(resolve));
      yield event;
    }
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #exists(obj: StoredObject<unknown, unknown>): Promise<boolean> {
    const { namespace, name, uid } = obj.metadata;
    try {
      return (await this.#inner.get(obj.kind, namespace, name)).metadata.uid === uid;
    } catch (err) {
      if (isFsbError(err, ErrorCode.NotFound)) return false;
      throw err;
    }
  }
}

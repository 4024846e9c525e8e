/** The ObjectStore interface: Kubernetes API semantics (versions, finalizers, watches) that controllers rely on. */
import type { NewObject, StoredObject } from "@fast-sandbox/api";
import type { ListWatcher } from "../kube/list-watch.ts";

export interface DeleteOptions {
  /** Precondition: delete only if the object is still at this version (else ABORTED). */
  resourceVersion?: string;
}

/**
 * A store of Kubernetes-style objects addressed by kind, namespace and name.
 *
 * resourceVersion is a decimal string of one store-wide counter that grows on every write, so versions
 * of different objects and kinds are comparable. Errors are FsbErrors: NOT_FOUND, ALREADY_EXISTS,
 * ABORTED (stale resourceVersion: re-read and retry), OUT_OF_RANGE (watch from a version the store no
 * longer keeps: re-list), INVALID_ARGUMENT, FAILED_PRECONDITION (forbidden write to an object being
 * deleted). Returned objects are the caller's own copies. `list` and `watch` are declared in ListWatcher.
 */
export interface ObjectStore extends ListWatcher {
  /**
   * True when a write completes on this machine in well under a millisecond (the embedded store): a
   * caller may then wait for a write where it would not wait for a network round trip.
   */
  readonly writesAreLocal?: boolean;

  /**
   * Stores a new object; the store sets uid, resourceVersion, generation 1 and creationTimestamp, and
   * defaults labels, annotations and finalizers to empty and status to `{}`. ALREADY_EXISTS if taken.
   */
  create<Spec, Status>(obj: NewObject<Spec, Status>): Promise<StoredObject<Spec, Status>>;

  /** NOT_FOUND if absent. */
  get<Spec, Status>(kind: string, namespace: string, name: string): Promise<StoredObject<Spec, Status>>;

  /**
   * Writes spec, labels, annotations and finalizers if `obj.metadata.resourceVersion` is current (else
   * ABORTED). generation grows only when spec changed; status and store-owned metadata in `obj` are
   * ignored. While the object is being deleted only labels, annotations and finalizer removals are
   * allowed (else FAILED_PRECONDITION); removing the last finalizer then deletes the object, and the
   * returned object is its last state. A write that changes nothing returns the object unchanged.
   */
  update<Spec, Status>(obj: StoredObject<Spec, Status>): Promise<StoredObject<Spec, Status>>;

  /** Writes only status, conflict-checked like update; never changes generation. Allowed while deleting. */
  updateStatus<Spec, Status>(obj: StoredObject<Spec, Status>): Promise<StoredObject<Spec, Status>>;

  /**
   * Deletes: with finalizers, sets deletionTimestamp (a MODIFIED event) and returns the object; without,
   * removes it (a DELETED event) and returns its last state. Deleting an object already being deleted
   * returns it unchanged. NOT_FOUND if absent.
   */
  delete<Spec, Status>(
    kind: string,
    namespace: string,
    name: string,
    options?: DeleteOptions,
  ): Promise<StoredObject<Spec, Status>>;

  /** Releases the store; running watches end with UNAVAILABLE and later calls fail with it. */
  close(): Promise<void>;
}

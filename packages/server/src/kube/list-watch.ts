/** Listing and watching one kind, as the Kubernetes API does it: what an informer reads through. */
import type { StoredObject } from "@fast-sandbox/api";

/** Which objects of a kind a list or watch covers. */
export interface ListOptions {
  /** Only this namespace; all namespaces when absent. */
  namespace?: string;
  /** A Kubernetes label selector such as `app=web,tier!=db,!legacy,env in (a,b)`. */
  labelSelector?: string;
}

export interface ListResult<T> {
  items: T[];
  /** The store's version at the time of the list: watch from it to see every later change. */
  resourceVersion: string;
}

export interface WatchOptions extends ListOptions {
  /** Deliver every change after this version (usually a list's resourceVersion). */
  resourceVersion: string;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

/**
 * One change. `object` is the object after the change (for DELETED, its last state) and its
 * resourceVersion is the version of the change. With a label selector, an object whose labels
 * start to match arrives as ADDED and one that stops matching as DELETED, as in Kubernetes.
 */
export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}

/** Anything that lists and watches a kind: an ObjectStore, or the Pods of a cluster. */
export interface ListWatcher {
  list<Spec, Status>(kind: string, options?: ListOptions): Promise<ListResult<StoredObject<Spec, Status>>>;

  /**
   * Every change after `options.resourceVersion`, in order, without gaps or duplicates, then live
   * changes until `signal` aborts (the iteration then ends normally). Iteration throws OUT_OF_RANGE
   * when the version is older than the source keeps or the consumer fell too far behind; the caller
   * re-lists and watches again from the new list's version.
   */
  watch<Spec, Status>(
    kind: string,
    options: WatchOptions,
    signal: AbortSignal,
  ): AsyncIterable<WatchEvent<StoredObject<Spec, Status>>>;
}

/** Kubernetes-style object envelope shared by the embedded store, the Kubernetes store and controllers. */

/** Metadata the store owns (uid, versions, timestamps) and metadata clients set (labels, finalizers). */
export interface ObjectMeta {
  name: string;
  namespace: string;
  /** Set by the store on create; a recreated object of the same name gets a new uid. */
  uid: string;
  /** Opaque version for optimistic concurrency; changes on every write. */
  resourceVersion: string;
  /** Incremented by the store when `spec` changes (never on status-only writes). */
  generation: number;
  /** RFC 3339, set by the store on create. */
  creationTimestamp: string;
  /** RFC 3339; set by a delete while finalizers remain. The object is then read-only except for finalizers. */
  deletionTimestamp?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  finalizers: string[];
}

/** A stored object of one kind. */
export interface StoredObject<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status: Status;
}

/** What a client supplies to create an object: the store fills in the rest of the metadata. */
export interface NewObject<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: Pick<ObjectMeta, "name" | "namespace"> &
    Partial<Pick<ObjectMeta, "labels" | "annotations" | "finalizers">>;
  spec: Spec;
  status?: Status;
}

/** A condition in the Kubernetes style, with a documented reason string. */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** The API group and version of every Fast Sandbox resource. */
export const API_GROUP = "sandbox.fast.io";
export const API_VERSION = `${API_GROUP}/v1alpha1`;

/** `namespace/name`, the key that work queues and caches use. */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Splits an {@link objectKey}. */
export function splitObjectKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The one mapping between Kubernetes objects (JSON on the wire) and StoredObjects: wire shapes stop here. */
import { ErrorCode, FsbError, type ObjectMeta, type StoredObject } from "@fast-sandbox/api";
import { apiVersionOf, type KubeResource } from "./kube-resources.ts";

/** A Kubernetes object as JSON: the fields the mapping reads, plus whatever else the server sent. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown>;
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
}

/** The metadata a client writes; everything else in ObjectMeta belongs to the API server. */
export type ClientFields = Pick<ObjectMeta, "labels" | "annotations" | "finalizers">;

/**
 * A Kubernetes object as a StoredObject. Metadata keeps only the fields ObjectMeta has (managedFields,
 * ownerReferences and the like stay on the server); absent labels, annotations and finalizers become
 * empty, and an absent spec or status `{}`. Timestamps stay the server's RFC 3339 strings (a Date from
 * a typed client model is written back in the same form). A malformed object is INTERNAL.
 */
export function fromKubeObject<Spec = unknown, Status = unknown>(
  raw: unknown,
  where: string,
): StoredObject<Spec, Status> {
  const bad = (why: string): FsbError =>
    new FsbError(ErrorCode.Internal, `malformed ${where} from the API server: ${why}`);
  if (!isRecord(raw)) throw bad("not an object");
  const meta = raw.metadata;
  if (!isRecord(meta)) throw bad("no metadata");
  const text = (field: string): string => {
    const value = meta[field];
    if (typeof value !== "string" || value === "") throw bad(`metadata.${field} is missing`);
    return value;
  };
  if (typeof raw.apiVersion !== "string" || typeof raw.kind !== "string") throw bad("no apiVersion or kind");
  const generation = meta.generation ?? 0;
  if (typeof generation !== "number" || !Number.isSafeInteger(generation)) {
    throw bad("metadata.generation is not a whole number");
  }
  const creationTimestamp = timestamp(meta.creationTimestamp);
  if (creationTimestamp === undefined) throw bad("metadata.creationTimestamp is missing");
  const deletionTimestamp = timestamp(meta.deletionTimestamp);
  const metadata: ObjectMeta = {
    name: text("name"),
    namespace: text("namespace"),
    uid: text("uid"),
    resourceVersion: text("resourceVersion"),
    generation,
    creationTimestamp,
    ...(deletionTimestamp === undefined ? {} : { deletionTimestamp }),
    labels: stringMap(meta.labels, "metadata.labels", bad),
    annotations: stringMap(meta.annotations, "metadata.annotations", bad),
    finalizers: stringList(meta.finalizers, "metadata.finalizers", bad),
  };
  return {
    apiVersion: raw.apiVersion,
    kind: raw.kind,
    metadata,
    spec: (raw.spec ?? {}) as Spec,
    status: (isRecord(raw.status) ? raw.status : {}) as Status,
  };
}

/**
 * The body of a create: apiVersion of the resource, kind, name, namespace, the client fields, spec and
 * status. Empty collections and an empty status are left out, as the server stores them anyway.
 * (A resource with a status subresource ignores status on create.)
 */
export function toKubeCreateBody(obj: StoredObject, resource: KubeResource): KubeObject {
  const { name, namespace } = obj.metadata;
  return {
    apiVersion: apiVersionOf(resource),
    kind: obj.kind,
    metadata: withClientFields({ name, namespace }, obj.metadata),
    spec: obj.spec,
    ...(isEmptyStatus(obj.status) ? {} : { status: obj.status }),
  };
}

/**
 * The body of an update (PUT): the object as the server last returned it, so metadata the store does
 * not model (ownerReferences, ...) survives, with spec and the client fields replaced. managedFields
 * is left out, which keeps the server's. Its resourceVersion is `current`'s: the write is conflict-checked.
 */
export function toKubeUpdateBody(current: KubeObject, spec: unknown, fields: ClientFields): KubeObject {
  const {
    managedFields: _managed,
    labels: _l,
    annotations: _a,
    finalizers: _f,
    ...meta
  } = current.metadata ?? {};
  return { ...current, metadata: withClientFields(meta, fields), spec };
}

/**
 * The body of a status write (PUT on /status): only what addresses the object and its version, and
 * the status. The server takes nothing else from it. An empty status is sent as none, so writing `{}`
 * over an absent status changes nothing.
 */
export function toKubeStatusBody(obj: StoredObject, resource: KubeResource): KubeObject {
  const { name, namespace, resourceVersion } = obj.metadata;
  return {
    apiVersion: apiVersionOf(resource),
    kind: obj.kind,
    metadata: { name, namespace, resourceVersion },
    ...(isEmptyStatus(obj.status) ? {} : { status: obj.status }),
  };
}

/** Whether a status is nothing: absent or an object without fields. */
export function isEmptyStatus(status: unknown): boolean {
  return status === undefined || status === null || (isRecord(status) && Object.keys(status).length === 0);
}

function withClientFields(meta: Record<string, unknown>, fields: ClientFields): Record<string, unknown> {
  return {
    ...meta,
    ...(Object.keys(fields.labels).length > 0 ? { labels: { ...fields.labels } } : {}),
    ...(Object.keys(fields.annotations).length > 0 ? { annotations: { ...fields.annotations } } : {}),
    ...(fields.finalizers.length > 0 ? { finalizers: [...fields.finalizers] } : {}),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An RFC 3339 timestamp: the server's string as it is, or a Date in the server's own (seconds) form. */
function timestamp(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") return value;
  if (value instanceof Date && !Number.isNaN(value.getTime())) {
    return value.toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  return undefined;
}

function stringMap(value: unknown, field: string, bad: (why: string) => FsbError): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw bad(`${field} is not a map`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") throw bad(`${field}[${JSON.stringify(k)}] is not a string`);
    out[k] = v;
  }
  return out;
}

function stringList(value: unknown, field: string, bad: (why: string) => FsbError): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw bad(`${field} is not a list of strings`);
  }
  return [...value];
}

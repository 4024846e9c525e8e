/** The write rules of an ObjectStore as pure functions, so every embedded backend enforces the same ones. */
import { isDeepStrictEqual } from "node:util";
import {
  ErrorCode,
  FsbError,
  invalidArgument,
  type NewObject,
  type ObjectMeta,
  type StoredObject,
  validateDnsLabel,
  validateDnsSubdomain,
} from "@fast-sandbox/api";
import { isLabelKey, isLabelValue } from "./label-selector.ts";

/**
 * What a write does: nothing (the object is returned as it is, with no new version or event), store
 * the object (`put`), or remove it (`remove`, with `object` its last state). The caller assigns the
 * new resourceVersion for put and remove.
 */
export type WriteOutcome = { action: "none" | "put" | "remove"; object: StoredObject };

const kindPattern = /^[A-Z][A-Za-z0-9]{0,62}$/;

/** Validates a kind name (`Sandbox`, `SandboxPool`): it addresses tables and events, so it must be tame. */
export function validateKind(kind: unknown, field = "kind"): string {
  if (typeof kind !== "string" || !kindPattern.test(kind)) {
    throw invalidArgument(field, `${JSON.stringify(kind)} is not a kind: use an UpperCamelCase name`);
  }
  return kind;
}

/** Parses a resourceVersion: a decimal counter value. */
export function parseResourceVersion(value: unknown, field: string): number {
  if (typeof value !== "string" || !/^(0|[1-9][0-9]{0,15})$/.test(value)) {
    throw invalidArgument(field, `${JSON.stringify(value)} is not a resourceVersion`);
  }
  return Number(value);
}

// A deep copy through JSON: stored data is JSON, so this is exactly what a reader gets back later.
function jsonCopy<T>(value: T, field: string): T {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new FsbError(ErrorCode.InvalidArgument, "must be JSON-serializable", { field, cause: err });
  }
  if (text === undefined) throw invalidArgument(field, "is required");
  return JSON.parse(text) as T;
}

function validateLabels(value: unknown, field: string, checkSyntax: boolean): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidArgument(field, "must be a map of strings");
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") throw invalidArgument(`${field}[${JSON.stringify(k)}]`, "must be a string");
    if (checkSyntax && !isLabelKey(k))
      throw invalidArgument(field, `${JSON.stringify(k)} is not a label key`);
    if (checkSyntax && !isLabelValue(v)) {
      throw invalidArgument(`${field}[${JSON.stringify(k)}]`, `${JSON.stringify(v)} is not a label value`);
    }
    out[k] = v;
  }
  return out;
}

function validateFinalizers(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidArgument("metadata.finalizers", "must be a list of strings");
  value.forEach((f, i) => {
    if (typeof f !== "string" || !isLabelKey(f)) {
      throw invalidArgument(`metadata.finalizers[${i}]`, `${JSON.stringify(f)} is not a finalizer name`);
    }
  });
  return [...new Set(value as string[])];
}

/** The mutable metadata a client may set, validated and copied. */
function clientMeta(meta: Partial<ObjectMeta>): Pick<ObjectMeta, "labels" | "annotations" | "finalizers"> {
  return {
    labels: validateLabels(meta.labels, "metadata.labels", true),
    annotations: validateLabels(meta.annotations, "metadata.annotations", false),
    finalizers: validateFinalizers(meta.finalizers),
  };
}

function requireObject(
  obj: unknown,
): asserts obj is { metadata: Partial<ObjectMeta> } & Record<string, unknown> {
  if (typeof obj !== "object" || obj === null) throw invalidArgument("object", "must be an object");
  const meta = (obj as { metadata?: unknown }).metadata;
  if (typeof meta !== "object" || meta === null) throw invalidArgument("metadata", "is required");
}

/** Builds the stored form of a new object: validated, copied, with store-owned metadata filled in. */
export function prepareCreate(
  obj: NewObject,
  owned: { uid: string; resourceVersion: string; creationTimestamp: string },
): StoredObject {
  requireObject(obj);
  const kind = validateKind(obj.kind);
  if (typeof obj.apiVersion !== "string" || obj.apiVersion === "") {
    throw invalidArgument("apiVersion", "is required");
  }
  const meta = obj.metadata;
  return {
    apiVersion: obj.apiVersion,
    kind,
    metadata: {
      name: validateDnsSubdomain(meta.name, "metadata.name"),
      namespace: validateDnsLabel(meta.namespace, "metadata.namespace"),
      uid: owned.uid,
      resourceVersion: owned.resourceVersion,
      generation: 1,
      creationTimestamp: owned.creationTimestamp,
      ...clientMeta(meta),
    },
    spec: jsonCopy(obj.spec, "spec"),
    status: obj.status === undefined ? {} : jsonCopy(obj.status, "status"),
  };
}

/** Throws ABORTED unless `given` is the current version of `existing`. */
export function checkVersion(existing: StoredObject, given: unknown): void {
  parseResourceVersion(given, "metadata.resourceVersion");
  if (given !== existing.metadata.resourceVersion) {
    const { namespace, name } = existing.metadata;
    throw new FsbError(
      ErrorCode.Aborted,
      `conflict: ${existing.kind} ${namespace}/${name} is at resourceVersion ${existing.metadata.resourceVersion}, not ${given}; re-read and retry`,
    );
  }
}

/** Applies an update of spec, labels, annotations and finalizers to `existing` (see ObjectStore.update). */
export function applyUpdate(existing: StoredObject, incoming: StoredObject): WriteOutcome {
  requireObject(incoming);
  checkVersion(existing, incoming.metadata.resourceVersion);
  const meta = clientMeta(incoming.metadata);
  const spec = jsonCopy(incoming.spec, "spec");
  const specChanged = !isDeepStrictEqual(spec, existing.spec);
  const old = existing.metadata;
  const deleting = old.deletionTimestamp !== undefined;
  if (deleting) {
    const what = `${existing.kind} ${old.namespace}/${old.name} is being deleted`;
    if (specChanged) {
      throw new FsbError(ErrorCode.FailedPrecondition, `${what}: its spec can no longer change`);
    }
    const added = meta.finalizers.filter((f) => !old.finalizers.includes(f));
    if (added.length > 0) {
      throw new FsbError(ErrorCode.FailedPrecondition, `${what}: cannot add finalizers ${added.join(", ")}`);
    }
  }
  const unchanged =
    !specChanged &&
    isDeepStrictEqual(meta.labels, old.labels) &&
    isDeepStrictEqual(meta.annotations, old.annotations) &&
    isDeepStrictEqual(meta.finalizers, old.finalizers);
  if (unchanged) return { action: "none", object: existing };
  const object: StoredObject = {
    ...existing,
    metadata: { ...old, ...meta, generation: specChanged ? old.generation + 1 : old.generation },
    spec,
  };
  return { action: deleting && meta.finalizers.length === 0 ? "remove" : "put", object };
}

/** Applies a status write to `existing` (see ObjectStore.updateStatus). */
export function applyStatusUpdate(existing: StoredObject, incoming: StoredObject): WriteOutcome {
  requireObject(incoming);
  checkVersion(existing, incoming.metadata.resourceVersion);
  const status = jsonCopy(incoming.status, "status");
  if (isDeepStrictEqual(status, existing.status)) return { action: "none", object: existing };
  return { action: "put", object: { ...existing, status } };
}

/** Starts or completes a delete (see ObjectStore.delete). */
export function applyDelete(existing: StoredObject, deletionTimestamp: string): WriteOutcome {
  if (existing.metadata.deletionTimestamp !== undefined) return { action: "none", object: existing };
  if (existing.metadata.finalizers.length === 0) return { action: "remove", object: existing };
  return { action: "put", object: { ...existing, metadata: { ...existing.metadata, deletionTimestamp } } };
}

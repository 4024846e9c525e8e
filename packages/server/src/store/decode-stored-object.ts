/** Reads a stored object back from its JSON, turning corrupt data into an INTERNAL error instead of a crash. */
import { ErrorCode, FsbError, type StoredObject } from "@fast-sandbox/api";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses and shape-checks `json`; `where` names the row in the error (such as `Sandbox ns/name`). */
export function decodeStoredObject(json: unknown, where: string): StoredObject {
  if (typeof json !== "string") throw corrupt(where, "data is not text");
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw corrupt(where, "data is not valid JSON", err);
  }
  if (!isRecord(value) || typeof value.kind !== "string" || typeof value.apiVersion !== "string") {
    throw corrupt(where, "data is not an object with kind and apiVersion");
  }
  const meta = value.metadata;
  if (
    !isRecord(meta) ||
    typeof meta.name !== "string" ||
    typeof meta.namespace !== "string" ||
    typeof meta.uid !== "string" ||
    typeof meta.resourceVersion !== "string" ||
    typeof meta.generation !== "number" ||
    !isRecord(meta.labels) ||
    !isRecord(meta.annotations) ||
    !Array.isArray(meta.finalizers)
  ) {
    throw corrupt(where, "metadata is missing or malformed");
  }
  return value as unknown as StoredObject;
}

/** Parses a stored label map (the labels before a change, kept with MODIFIED events). */
export function decodeLabels(json: unknown, where: string): Record<string, string> {
  let value: unknown;
  try {
    value = typeof json === "string" ? JSON.parse(json) : undefined;
  } catch (err) {
    throw corrupt(where, "labels are not valid JSON", err);
  }
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === "string")) {
    throw corrupt(where, "labels are not a map of strings");
  }
  return value as Record<string, string>;
}

function corrupt(where: string, problem: string, cause?: unknown): FsbError {
  return new FsbError(ErrorCode.Internal, `corrupt stored object ${where}: ${problem}`, { cause });
}

/** Checks the Kubernetes store makes before a request: names for URL paths, selectors, versions, JSON. */
import { ErrorCode, FsbError, invalidArgument, type StoredObject } from "@fast-sandbox/api";
import { labelMatcher } from "./label-selector.ts";

/** A name or namespace that goes into a URL path: an empty one would address the collection instead. */
export function requireName(value: unknown, field: string): asserts value is string {
  if (typeof value !== "string" || value === "" || value.includes("/")) {
    throw invalidArgument(field, `${JSON.stringify(value)} is not a name`);
  }
}

/** Checks a selector with the store's own parser (INVALID_ARGUMENT naming the problem); "" is none. */
export function selectorOf(selector: string | undefined): string | undefined {
  if (selector === undefined || selector === "") return undefined;
  labelMatcher(selector);
  return selector;
}

/** ABORTED (a message starting "conflict") unless `current` is at version `given`: equality, never order. */
export function checkSameVersion(current: StoredObject, given: string): void {
  if (current.metadata.resourceVersion !== given) {
    const { namespace, name, resourceVersion } = current.metadata;
    throw new FsbError(
      ErrorCode.Aborted,
      `conflict: ${current.kind} ${namespace}/${name} is at resourceVersion ${resourceVersion}, not ${given}; re-read and retry`,
    );
  }
}

/** A deep copy through JSON (what the server will store), or INVALID_ARGUMENT naming `field`. */
export function jsonCopy<T>(value: T, field: string): T {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new FsbError(ErrorCode.InvalidArgument, "must be JSON-serializable", { field, cause: err });
  }
  return (text === undefined ? undefined : JSON.parse(text)) as T;
}

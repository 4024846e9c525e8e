// Wraps an OCI spec in the protobuf Any containerd stores on a container record, and back.
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import type { OciProcess, OciSpec } from "./oci-spec.ts";

/** The type URL containerd registers for runtime specs; it decodes the value as JSON only under this one. */
export const SPEC_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Spec";

/** The type URL of a runtime-spec Process (an exec'd process's spec), decoded as JSON under this one. */
export const PROCESS_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process";

/** The fields of a google.protobuf.Any; pass to `create(AnySchema, …)` for the generated message. */
export interface AnyValue {
  typeUrl: string;
  value: Uint8Array;
}

/** Encodes `spec` as UTF-8 JSON under {@link SPEC_TYPE_URL}. */
export function specToAny(spec: OciSpec): AnyValue {
  return { typeUrl: SPEC_TYPE_URL, value: new TextEncoder().encode(JSON.stringify(spec)) };
}

/** Encodes an exec'd process's spec as UTF-8 JSON under {@link PROCESS_TYPE_URL}. */
export function processToAny(process: OciProcess): AnyValue {
  return { typeUrl: PROCESS_TYPE_URL, value: new TextEncoder().encode(JSON.stringify(process)) };
}

/** Decodes a spec stored by containerd; anything else there means a corrupt or foreign record. */
export function specFromAny(any: AnyValue): OciSpec {
  if (any.typeUrl !== SPEC_TYPE_URL) {
    throw new FsbError(
      ErrorCode.Internal,
      `container spec has type "${any.typeUrl}", want "${SPEC_TYPE_URL}"`,
    );
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(any.value));
  } catch (err) {
    throw new FsbError(ErrorCode.Internal, "container spec is not valid UTF-8 JSON", { cause: err });
  }
  if (typeof decoded !== "object" || decoded === null || !("ociVersion" in decoded)) {
    throw new FsbError(ErrorCode.Internal, "container spec is not an OCI runtime spec");
  }
  return decoded as OciSpec;
}

/** Updates that cannot take effect in a sandbox's current phase: refused at once, naming the field. */
import { ErrorCode, FsbError, objectKey, type Sandbox, SandboxPhase } from "@fast-sandbox/api";

/** The parts of an update whose effect depends on the phase. */
export interface PhaseBoundChanges {
  reset?: boolean;
  expireTime?: string;
  clearExpireTime?: boolean;
}

/**
 * Throws FAILED_PRECONDITION for an update that would be recorded but never carried out: a reset of
 * a sandbox whose container is gone for good (Expired) or going (Terminating), and a new or cleared
 * expiry of one that already expired. Recording those would let a client believe a reset or a
 * reprieve happened. Labels, failure policy and recovery timeout stay changeable.
 */
export function refuseUpdateInPhase(current: Sandbox, changes: PhaseBoundChanges): void {
  const key = objectKey(current.metadata.namespace, current.metadata.name);
  if (current.metadata.deletionTimestamp) {
    throw new FsbError(
      ErrorCode.FailedPrecondition,
      changes.reset
        ? "the sandbox is Terminating: it is being deleted; create a new sandbox once it is gone"
        : `sandbox ${key} is being deleted`,
      changes.reset ? { field: "reset" } : {},
    );
  }
  if (current.status?.phase !== SandboxPhase.Expired) return;
  if (changes.reset) {
    throw new FsbError(
      ErrorCode.FailedPrecondition,
      "the sandbox is Expired: its container is gone; create a new sandbox",
      { field: "reset" },
    );
  }
  const expiryField = changes.expireTime
    ? "expireTime"
    : changes.clearExpireTime
      ? "clearExpireTime"
      : undefined;
  if (expiryField) {
    throw new FsbError(
      ErrorCode.FailedPrecondition,
      "the sandbox is Expired: its container is gone and an expiry cannot be undone; create a new sandbox",
      { field: expiryField },
    );
  }
}

/** Why a sandbox waits without a slot: the placement error as a Scheduled=False reason, and back (pure). */
import { ErrorCode, FsbError, isFsbError, SandboxReason } from "@fast-sandbox/api";

/** The reasons a sandbox stays Pending with Scheduled=False while the reconciler looks again. */
export type UnschedulableReason =
  | typeof SandboxReason.NoCapacity
  | typeof SandboxReason.ImageNotCached
  | typeof SandboxReason.PoolNotFound
  | typeof SandboxReason.ExposedPortsUnsupported;

/** Each reason, the code it is answered with, and the request field it is about. */
const REASONS: ReadonlyArray<{ reason: UnschedulableReason; code: ErrorCode; field?: string }> = [
  { reason: SandboxReason.NoCapacity, code: ErrorCode.ResourceExhausted },
  { reason: SandboxReason.PoolNotFound, code: ErrorCode.FailedPrecondition, field: "poolRef" },
  {
    reason: SandboxReason.ExposedPortsUnsupported,
    code: ErrorCode.FailedPrecondition,
    field: "exposedPorts",
  },
  // Last: the registry's other FAILED_PRECONDITION is about the image.
  { reason: SandboxReason.ImageNotCached, code: ErrorCode.FailedPrecondition, field: "image" },
];

/** The reason for a placement error that waiting may cure, or undefined for any other error. */
export function unschedulableReason(err: unknown): UnschedulableReason | undefined {
  if (!isFsbError(err)) return undefined;
  const match =
    REASONS.find((r) => r.code === err.code && r.field !== undefined && r.field === err.field) ??
    REASONS.find((r) => r.code === err.code);
  return match?.reason;
}

/**
 * The error a Scheduled=False condition stands for, with its code and field again (the condition's
 * message is the error's, `field: ` in front); undefined for a reason that is not about placement.
 */
export function unschedulableError(reason: string, message: string): FsbError | undefined {
  const known = REASONS.find((r) => r.reason === reason);
  if (!known) return undefined;
  const prefix = known.field ? `${known.field}: ` : "";
  const text = message.startsWith(prefix) ? message.slice(prefix.length) : message;
  return new FsbError(known.code, text, known.field ? { field: known.field } : {});
}

/** Reasons that no growth of the pool cures: a create answers them at once. */
export function isRefusal(reason: string | undefined): boolean {
  return reason === SandboxReason.PoolNotFound || reason === SandboxReason.ExposedPortsUnsupported;
}

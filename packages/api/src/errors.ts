/** The single error root of Fast Sandbox: every failure carries one code from a closed set. */

/**
 * Error codes, named after the gRPC status codes they map to at the API boundary.
 * The set is closed: boundaries translate foreign errors into one of these.
 */
export const ErrorCode = {
  Cancelled: "CANCELLED",
  InvalidArgument: "INVALID_ARGUMENT",
  DeadlineExceeded: "DEADLINE_EXCEEDED",
  NotFound: "NOT_FOUND",
  AlreadyExists: "ALREADY_EXISTS",
  PermissionDenied: "PERMISSION_DENIED",
  ResourceExhausted: "RESOURCE_EXHAUSTED",
  FailedPrecondition: "FAILED_PRECONDITION",
  /** A write lost an optimistic-concurrency race (stale resourceVersion): re-read and retry. */
  Aborted: "ABORTED",
  /** A watch asked for a resourceVersion older than the store keeps: re-list, then watch again. */
  OutOfRange: "OUT_OF_RANGE",
  Unimplemented: "UNIMPLEMENTED",
  Internal: "INTERNAL",
  Unavailable: "UNAVAILABLE",
  Unauthenticated: "UNAUTHENTICATED",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** Options of {@link FsbError}. */
export interface FsbErrorOptions {
  /** The lower-level error this one translates; kept for logs, never shown as the message. */
  cause?: unknown;
  /** For INVALID_ARGUMENT: the path of the offending field, such as `sandbox.exposedPorts[1]`. */
  field?: string;
}

/**
 * An error with a code from {@link ErrorCode}.
 *
 * The field and the text travel apart: `field` and `rawMessage` are the data every boundary passes
 * on (as the agent's JSON `field`/`message`, as a `google.rpc.BadRequest` detail on the API), and
 * `message` is only their join for people (`exposedPorts[0]: must be 1-65535`) in logs and output.
 * Nothing parses `message` back.
 *
 * @example
 * throw new FsbError(ErrorCode.InvalidArgument, "must be 1-65535", { field: "exposedPorts[0]" });
 */
export class FsbError extends Error {
  override readonly name = "FsbError";
  readonly code: ErrorCode;
  readonly field: string | undefined;
  /** What is wrong, without the field path: the `message` given to the constructor. */
  readonly rawMessage: string;

  constructor(code: ErrorCode, message: string, options: FsbErrorOptions = {}) {
    super(joinFieldMessage(options.field, message), { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.rawMessage = message;
  }

  /** Whether retrying the same call later may succeed. */
  get retryable(): boolean {
    return (
      this.code === ErrorCode.Unavailable ||
      this.code === ErrorCode.Aborted ||
      this.code === ErrorCode.DeadlineExceeded ||
      this.code === ErrorCode.ResourceExhausted
    );
  }
}

/** Shorthand for an INVALID_ARGUMENT error that names its field. */
export function invalidArgument(field: string, message: string): FsbError {
  return new FsbError(ErrorCode.InvalidArgument, message, { field });
}

/** The human reading of a field and a message: `field: message`, or just the message without a field. */
function joinFieldMessage(field: string | undefined, message: string): string {
  return field ? `${field}: ${message}` : message;
}

/** Whether `err` is an {@link FsbError}, optionally with the given code. */
export function isFsbError(err: unknown, code?: ErrorCode): err is FsbError {
  return err instanceof FsbError && (code === undefined || err.code === code);
}

/** Whether `code` is one of the closed set (for decoding codes from the wire). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && knownCodes.has(code);
}

/** Wraps anything thrown into an FsbError; FsbErrors pass through unchanged. */
export function toFsbError(err: unknown, fallback: ErrorCode = ErrorCode.Internal): FsbError {
  if (err instanceof FsbError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FsbError(fallback, message, { cause: err });
}

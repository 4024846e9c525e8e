/** Translates containerd gRPC failures into FsbError codes, keeping the original as the cause. */
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorCode, FsbError } from "@fast-sandbox/api";

const codeMap: ReadonlyMap<Code, ErrorCode> = new Map([
  [Code.Canceled, ErrorCode.Cancelled],
  [Code.InvalidArgument, ErrorCode.InvalidArgument],
  [Code.DeadlineExceeded, ErrorCode.DeadlineExceeded],
  [Code.NotFound, ErrorCode.NotFound],
  [Code.AlreadyExists, ErrorCode.AlreadyExists],
  [Code.PermissionDenied, ErrorCode.PermissionDenied],
  [Code.ResourceExhausted, ErrorCode.ResourceExhausted],
  [Code.FailedPrecondition, ErrorCode.FailedPrecondition],
  [Code.Aborted, ErrorCode.Aborted],
  [Code.OutOfRange, ErrorCode.OutOfRange],
  [Code.Unimplemented, ErrorCode.Unimplemented],
  [Code.Unavailable, ErrorCode.Unavailable],
  [Code.Unauthenticated, ErrorCode.Unauthenticated],
]);

/** Socket-level failures: containerd is down or restarting, so the caller may retry later. */
const unreachableErrnos = new Set(["ENOENT", "ECONNREFUSED", "EPIPE", "ECONNRESET"]);

/**
 * Wraps a failed containerd call as an FsbError. `action` says what we were doing, for the
 * message ("create task sb-1"). Socket-level failures surface as UNAVAILABLE.
 */
export function fromContainerdError(err: unknown, action: string): FsbError {
  if (err instanceof FsbError) return err;
  if (err instanceof ConnectError) {
    // The transport wraps socket failures; a containerd that is down is UNAVAILABLE, not a bug.
    const errno = (err.cause as NodeJS.ErrnoException | undefined)?.code;
    if (errno && unreachableErrnos.has(errno)) {
      return new FsbError(ErrorCode.Unavailable, `containerd: ${action}: socket unreachable (${errno})`, {
        cause: err,
      });
    }
    const code = codeMap.get(err.code) ?? ErrorCode.Internal;
    return new FsbError(code, `containerd: ${action}: ${err.rawMessage}`, { cause: err });
  }
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (errno && unreachableErrnos.has(errno)) {
    return new FsbError(ErrorCode.Unavailable, `containerd: ${action}: socket unreachable (${errno})`, {
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new FsbError(ErrorCode.Internal, `containerd: ${action}: ${message}`, { cause: err });
}

/** Whether a containerd call failed because the object does not exist. */
export function isNotFound(err: unknown): boolean {
  if (err instanceof FsbError) return err.code === ErrorCode.NotFound;
  return err instanceof ConnectError && err.code === Code.NotFound;
}

/** Runs a containerd call, translating any failure. */
export async function containerdCall<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw fromContainerdError(err, action);
  }
}

/** Runs a containerd call whose NOT_FOUND means "already done", as in idempotent teardown. */
export async function ignoreNotFound(action: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (isNotFound(err)) return;
    throw fromContainerdError(err, action);
  }
}

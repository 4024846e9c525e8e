/** FsbError codes as HTTP statuses and JSON bodies: the agent's error boundary. */
import { ErrorCode, type FsbError } from "@fast-sandbox/api";

/** The usual mapping of gRPC codes onto HTTP (the one Connect uses), so clients can rely on either. */
const statusByCode: Record<ErrorCode, number> = {
  [ErrorCode.Cancelled]: 499,
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.DeadlineExceeded]: 504,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.AlreadyExists]: 409,
  [ErrorCode.PermissionDenied]: 403,
  [ErrorCode.ResourceExhausted]: 429,
  [ErrorCode.FailedPrecondition]: 412,
  [ErrorCode.Aborted]: 409,
  [ErrorCode.OutOfRange]: 400,
  [ErrorCode.Unimplemented]: 501,
  [ErrorCode.Internal]: 500,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.Unauthenticated]: 401,
};

export function httpStatusFor(code: ErrorCode): number {
  return statusByCode[code];
}

/**
 * The JSON error body every failing endpoint answers with. `message` never repeats `field`: the
 * field is data of its own, and the reader joins them where a person reads the error.
 */
export interface ErrorBody {
  success: false;
  error: { code: ErrorCode; message: string; field?: string };
}

export function errorBody(err: FsbError): ErrorBody {
  return {
    success: false,
    error: { code: err.code, message: err.rawMessage, ...(err.field ? { field: err.field } : {}) },
  };
}

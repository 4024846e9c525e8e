/** Maps FsbError codes onto Connect/gRPC status codes and turns anything thrown into a ConnectError. */
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { BadRequestSchema } from "@fast-sandbox/api/gen/google/rpc/error_details_pb.ts";

/** One gRPC code per FsbError code; the names are the same, so this is a 1:1 table. */
const codeByErrorCode: Record<ErrorCode, Code> = {
  [ErrorCode.Cancelled]: Code.Canceled,
  [ErrorCode.InvalidArgument]: Code.InvalidArgument,
  [ErrorCode.DeadlineExceeded]: Code.DeadlineExceeded,
  [ErrorCode.NotFound]: Code.NotFound,
  [ErrorCode.AlreadyExists]: Code.AlreadyExists,
  [ErrorCode.PermissionDenied]: Code.PermissionDenied,
  [ErrorCode.ResourceExhausted]: Code.ResourceExhausted,
  [ErrorCode.FailedPrecondition]: Code.FailedPrecondition,
  [ErrorCode.Aborted]: Code.Aborted,
  [ErrorCode.OutOfRange]: Code.OutOfRange,
  [ErrorCode.Unimplemented]: Code.Unimplemented,
  [ErrorCode.Internal]: Code.Internal,
  [ErrorCode.Unavailable]: Code.Unavailable,
  [ErrorCode.Unauthenticated]: Code.Unauthenticated,
};

/** The Connect code an FsbError code travels as. */
export function connectCodeFor(code: ErrorCode): Code {
  return codeByErrorCode[code];
}

/** Receives the errors that are not shown to clients (INTERNAL and unknown), with a reference id. */
export type InternalErrorLogger = (err: unknown, context: { procedure: string; ref: string }) => void;

/**
 * Converts anything an RPC implementation threw into the ConnectError sent to the client.
 *
 * - ConnectError: unchanged.
 * - FsbError: the matching code and its message, which reads `field: message` for people; a
 *   field also travels as data, in a `google.rpc.BadRequest` detail with one field violation
 *   (`field`, and the message without it as `description`), which is where clients read it from.
 *   INTERNAL is the exception: its message may carry a foreign error's text, so it is treated as unknown.
 * - When `signal` has aborted (client gone, deadline, server shutdown): the abort reason.
 * - Anything else: Code.Internal with a generic message and a reference id; the real error goes
 *   to `log` under that id.
 */
export function toConnectError(
  err: unknown,
  options: { procedure: string; log: InternalErrorLogger; signal?: AbortSignal },
): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof FsbError && err.code !== ErrorCode.Internal) {
    return new ConnectError(err.message, connectCodeFor(err.code), undefined, fieldDetails(err), err);
  }
  if (options.signal?.aborted) return ConnectError.from(options.signal.reason, Code.Canceled);
  const ref = randomBytes(6).toString("hex");
  try {
    options.log(err, { procedure: options.procedure, ref });
  } catch {
    // A failing logger must not turn one bad request into a crash.
  }
  return new ConnectError(`internal error (ref ${ref}); details are in the server log`, Code.Internal);
}

/** The field of an error as a Connect error detail: a `google.rpc.BadRequest` with one violation. */
function fieldDetails(err: FsbError): ConstructorParameters<typeof ConnectError>[3] {
  if (!err.field) return [];
  return [
    {
      desc: BadRequestSchema,
      value: { fieldViolations: [{ field: err.field, description: err.rawMessage }] },
    },
  ];
}

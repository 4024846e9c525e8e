/** The SDK's errors: one root that keeps the gRPC code, a subclass per case, and a hint on what to do next. */
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@fast-sandbox/api/gen/google/rpc/error_details_pb.ts";

/**
 * The gRPC status code of an error, in lower snake case. `cancelled` is spelled as the server's
 * `CANCELLED` is (gRPC's own spelling), whichever way the transport spells it.
 */
export type FastSandboxErrorCode =
  | "cancelled"
  | "unknown"
  | "invalid_argument"
  | "deadline_exceeded"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "resource_exhausted"
  | "failed_precondition"
  | "aborted"
  | "out_of_range"
  | "unimplemented"
  | "internal"
  | "unavailable"
  | "data_loss"
  | "unauthenticated";

/** Options of {@link FastSandboxError}. */
export interface FastSandboxErrorOptions {
  code: FastSandboxErrorCode;
  /** The request field the error is about, such as `exposedPorts[1]`. */
  field?: string;
  /** One sentence on what to do about it. */
  hint?: string;
  cause?: unknown;
}

/**
 * Root of every error the SDK throws. `message` names the field when there is one
 * (`exposedPorts[1]: duplicate port`); `field` and `rawMessage` hold the two parts apart.
 *
 * @example
 * try { await fsb.sandboxes.get("web"); }
 * catch (err) { if (err instanceof NotFoundError) console.log("no such sandbox"); }
 */
export class FastSandboxError extends Error {
  override name = "FastSandboxError";
  /** The gRPC status code name, such as `not_found` or `resource_exhausted`. */
  readonly code: FastSandboxErrorCode;
  /** The request field the error is about, such as `exposedPorts[1]`; the server sends it as data. */
  readonly field: string | undefined;
  /** What went wrong, without the field (`duplicate port`). */
  readonly rawMessage: string;
  /** One sentence on what to do about it. */
  readonly hint: string | undefined;

  /** `message` is what went wrong, without the field: the error's `message` puts `field: ` in front. */
  constructor(message: string, options: FastSandboxErrorOptions) {
    super(options.field ? `${options.field}: ${message}` : message, { cause: options.cause });
    this.code = options.code;
    this.field = options.field;
    this.rawMessage = message;
    this.hint = options.hint;
  }
}

/**
 * The sandbox (or its namespace) does not exist.
 *
 * @example
 * const box = await fsb.sandboxes.get("web").catch((e) => (e instanceof NotFoundError ? undefined : Promise.reject(e)));
 */
export class NotFoundError extends FastSandboxError {
  override name = "NotFoundError";
}

/**
 * The name is taken by a sandbox with a different spec (or one being deleted).
 *
 * @example
 * try { await fsb.sandboxes.create({ name: "web", image: "nginx" }); }
 * catch (e) { if (e instanceof AlreadyExistsError) await fsb.sandboxes.delete("web", { wait: true }); }
 */
export class AlreadyExistsError extends FastSandboxError {
  override name = "AlreadyExistsError";
}

/**
 * The pool has no room for the sandbox and will not get any in time: it cannot grow (it has
 * launched poolMax agents, or its agents register themselves), or the agents it was adding did not
 * come up before the call's wait ran out (30 s by default). While a pool really grows, the server
 * makes a create wait instead of answering this.
 *
 * @example
 * catch (e) { if (e instanceof CapacityError) console.error(`${e.message} (${e.hint})`); }
 */
export class CapacityError extends FastSandboxError {
  override name = "CapacityError";
}

/**
 * The token is missing or wrong.
 *
 * @example
 * catch (e) { if (e instanceof AuthError) console.error("set FSB_TOKEN:", e.hint); }
 */
export class AuthError extends FastSandboxError {
  override name = "AuthError";
}

/**
 * The request is invalid; `field` names what.
 *
 * @example
 * catch (e) { if (e instanceof InvalidArgumentError) console.error(`bad ${e.field}: ${e.rawMessage}`); }
 */
export class InvalidArgumentError extends FastSandboxError {
  override name = "InvalidArgumentError";
}

/**
 * The server (or an agent behind it) cannot be reached right now; retrying later may work.
 *
 * @example
 * catch (e) { if (e instanceof UnavailableError) await new Promise((r) => setTimeout(r, 1000)); }
 */
export class UnavailableError extends FastSandboxError {
  override name = "UnavailableError";
}

/** The kind of resource a call was about, so a hint names the right command. */
export type ResourceKind = "sandbox" | "pool" | "file";

/**
 * Turns anything a call threw into a FastSandboxError with a hint; `endpoint` makes hints concrete
 * and `resource` (default `sandbox`) picks hints for the resource the call was about.
 *
 * @example
 * const err = toSdkError(new ConnectError("no such sandbox", Code.NotFound), "http://127.0.0.1:9090");
 */
export function toSdkError(
  err: unknown,
  endpoint: string,
  resource: ResourceKind = "sandbox",
): FastSandboxError {
  if (err instanceof FastSandboxError) return err;
  const connect = ConnectError.from(err);
  const violation = fieldViolation(connect);
  const message = violation ? violation.description : connect.rawMessage;
  const base = { code: codeName(connect.code), cause: err, ...(violation ? { field: violation.field } : {}) };
  const host = endpoint.replace(/^https?:\/\//, "");
  switch (connect.code) {
    case Code.NotFound:
      return new NotFoundError(message, {
        ...base,
        hint:
          resource === "pool"
            ? "check the name and namespace (`fsb-ctl pools list -A`)"
            : resource === "file"
              ? "check the path, and the sandbox's name and namespace (`fsb-ctl list -A`)"
              : "check the name and namespace (`fsb-ctl list -A`)",
      });
    case Code.AlreadyExists:
      return new AlreadyExistsError(message, {
        ...base,
        hint: "use another name, or delete the existing sandbox first",
      });
    case Code.ResourceExhausted:
      return new CapacityError(message, {
        ...base,
        hint: "the pool is full and cannot grow in time: delete sandboxes you no longer need, or raise the pool's poolMax (`fsb-ctl pools get`)",
      });
    case Code.FailedPrecondition: {
      const hint = preconditionHint(violation?.field);
      return new FastSandboxError(message, { ...base, ...(hint ? { hint } : {}) });
    }
    case Code.PermissionDenied:
      // The API refuses tokens with UNAUTHENTICATED; PERMISSION_DENIED is the sandbox's own refusal.
      if (resource === "file") {
        return new FastSandboxError(message, {
          ...base,
          hint: "the sandbox does not allow this there (a read-only file system, or the file's permissions)",
        });
      }
      return new AuthError(message, {
        ...base,
        hint: "set FSB_TOKEN or a token in the config (`fsb-ctl config view`); `npm start` writes .fsb-dev/api-token",
      });
    case Code.Unauthenticated:
      return new AuthError(message, {
        ...base,
        hint: "set FSB_TOKEN or a token in the config (`fsb-ctl config view`); `npm start` writes .fsb-dev/api-token",
      });
    case Code.InvalidArgument:
      return new InvalidArgumentError(message, { ...base, hint: "fix the request and try again" });
    case Code.Unavailable:
      if (isConnectionFailure(err)) {
        return new UnavailableError(`cannot reach Fast Sandbox at ${host}`, {
          ...base,
          hint: "is it running? (`npm start`), or point FSB_ENDPOINT at it",
        });
      }
      return new UnavailableError(message, { ...base, hint: "retry in a moment" });
    case Code.DeadlineExceeded:
      return new FastSandboxError(message, {
        ...base,
        hint: "the call timed out (a create waits up to its timeout for a growing pool's new agents); retry, or raise the timeout",
      });
    default:
      return new FastSandboxError(message, base);
  }
}

/**
 * What to do about a FAILED_PRECONDITION, by the field it names: the request is fine, but the
 * cluster is not ready for it. Capacity hints never apply here (RESOURCE_EXHAUSTED has those).
 */
function preconditionHint(field: string | undefined): string | undefined {
  if (field === "poolRef") {
    return "pools serve only their own namespace: see them with `fsb-ctl pools list -A`, or create this one with `fsb-ctl apply -f`";
  }
  if (field === "image") {
    return "agents do not pull images: load it into the containerd of the pool's nodes, or pick a pool whose nodes have it";
  }
  if (field === "command") {
    return "the program is not in the sandbox's image: check its name and the image's PATH, or run it through a shell";
  }
  if (field === "exposedPorts") return "use a pool with runtimeType container to expose ports";
  if (field?.startsWith("exposedPorts[")) {
    return "stop what listens on that port on the node, or expose another port (sandboxes share the node's network)";
  }
  return undefined;
}

/** The field the server blamed, from the error's `google.rpc.BadRequest` detail (never from its text). */
function fieldViolation(err: ConnectError): { field: string; description: string } | undefined {
  for (const detail of err.findDetails(BadRequestSchema)) {
    const violation = detail.fieldViolations.find((v) => v.field !== "");
    if (violation) return { field: violation.field, description: violation.description };
  }
  return undefined;
}

const codeNames: Record<Code, FastSandboxErrorCode> = {
  [Code.Canceled]: "cancelled",
  [Code.Unknown]: "unknown",
  [Code.InvalidArgument]: "invalid_argument",
  [Code.DeadlineExceeded]: "deadline_exceeded",
  [Code.NotFound]: "not_found",
  [Code.AlreadyExists]: "already_exists",
  [Code.PermissionDenied]: "permission_denied",
  [Code.ResourceExhausted]: "resource_exhausted",
  [Code.FailedPrecondition]: "failed_precondition",
  [Code.Aborted]: "aborted",
  [Code.OutOfRange]: "out_of_range",
  [Code.Unimplemented]: "unimplemented",
  [Code.Internal]: "internal",
  [Code.Unavailable]: "unavailable",
  [Code.DataLoss]: "data_loss",
  [Code.Unauthenticated]: "unauthenticated",
};

function codeName(code: Code): FastSandboxErrorCode {
  return codeNames[code] ?? "unknown";
}

function isConnectionFailure(err: unknown): boolean {
  const text = `${String(err)} ${String((err as { cause?: unknown })?.cause ?? "")}`;
  return /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|fetch failed|connect ENOENT/.test(text);
}

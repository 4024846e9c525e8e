/** The SDK's errors: one root that keeps the gRPC code, a subclass per case, and a hint on what to do next. */
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Root of every error the SDK throws.
 *
 * @example
 * try { await fsb.sandboxes.get("web"); }
 * catch (err) { if (err instanceof NotFoundError) console.log("no such sandbox"); }
 */
export class FastSandboxError extends Error {
  override name = "FastSandboxError";
  /** The gRPC status code name, such as `not_found` or `resource_exhausted`. */
  readonly code: string;
  /** For invalid arguments: the offending field, such as `exposedPorts[1]`. */
  readonly field: string | undefined;
  /** One sentence on what to do about it. */
  readonly hint: string | undefined;

  constructor(message: string, options: { code: string; field?: string; hint?: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.code = options.code;
    this.field = options.field;
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
 * catch (e) { if (e instanceof InvalidArgumentError) console.error(`bad ${e.field}: ${e.message}`); }
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
export type ResourceKind = "sandbox" | "pool";

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
  const message = connect.rawMessage;
  const code = Code[connect.code]?.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase() ?? "unknown";
  const field = /^([A-Za-z][\w.[\]"-]*): /.exec(message)?.[1];
  const base = { code, cause: err, ...(field ? { field } : {}) };
  const host = endpoint.replace(/^https?:\/\//, "");
  switch (connect.code) {
    case Code.NotFound:
      return new NotFoundError(message, {
        ...base,
        hint:
          resource === "pool"
            ? "check the name and namespace (`fsb-ctl pools list -A`)"
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
    case Code.Unauthenticated:
    case Code.PermissionDenied:
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

function isConnectionFailure(err: unknown): boolean {
  const text = `${String(err)} ${String((err as { cause?: unknown })?.cause ?? "")}`;
  return /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|fetch failed|connect ENOENT/.test(text);
}

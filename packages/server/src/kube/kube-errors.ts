/** Kubernetes API failures as FsbErrors: HTTP status and Status reason to the store's codes, network trouble to UNAVAILABLE. */

import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { ApiException } from "@kubernetes/client-node";

/** The `Status` object the API server answers failures with (and sends in watch ERROR events). */
export interface KubeStatus {
  kind?: string;
  status?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: { causes?: Array<{ reason?: string; message?: string; field?: string }> };
}

/** Error codes of the Node.js network stack and undici that mean the server could not be reached. */
const NETWORK_CODE =
  /^(E[A-Z]+|UND_ERR_[A-Z_]+|CERT_[A-Z_]+|ERR_TLS_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_[A-Z_]+)$/;

/**
 * Translates anything a client-node call threw. `what` says which call (`get Sandbox ns/a`) and starts the
 * message. 409 Conflict is ABORTED and its message starts with "conflict" (re-read and retry); 409
 * AlreadyExists is ALREADY_EXISTS; 410 Gone (a watch or continue token too old) is OUT_OF_RANGE; 400 and
 * 422 are INVALID_ARGUMENT; 5xx, 429 and network failures are UNAVAILABLE. FsbErrors pass through.
 */
export function kubeError(err: unknown, what: string): FsbError {
  if (err instanceof FsbError) return err;
  const http = httpStatusOf(err);
  if (http !== undefined) return fromStatus(http.status, http.code, what, err);
  if (isNetworkError(err)) {
    return new FsbError(ErrorCode.Unavailable, `${what}: the API server is unreachable: ${describe(err)}`, {
      cause: err,
    });
  }
  return new FsbError(ErrorCode.Internal, `${what}: ${describe(err)}`, { cause: err });
}

/** Translates a Status (an error response body or a watch ERROR event's object). */
export function kubeStatusError(status: KubeStatus, what: string): FsbError {
  return fromStatus(status, status.code ?? 0, what, status);
}

/**
 * Whether a Status says the server cannot serve this resourceVersion yet (its watch cache is behind the
 * version asked for): a retry after a moment succeeds, unlike a version that is too old.
 */
export function isTooLargeResourceVersion(status: KubeStatus): boolean {
  return (
    status.details?.causes?.some((c) => c.reason === "ResourceVersionTooLarge") === true ||
    /too large resource version/i.test(status.message ?? "")
  );
}

function fromStatus(status: KubeStatus, code: number, what: string, cause: unknown): FsbError {
  const detail = status.message || status.reason || `HTTP ${code}`;
  const message = `${what}: ${detail}`;
  const make = (c: ErrorCode, m = message): FsbError => new FsbError(c, m, { cause });
  switch (code) {
    case 400:
      return make(ErrorCode.InvalidArgument);
    case 401:
      return make(ErrorCode.Unauthenticated);
    case 403:
      return make(ErrorCode.PermissionDenied);
    case 404:
      return make(ErrorCode.NotFound);
    case 409:
      return status.reason === "AlreadyExists"
        ? make(ErrorCode.AlreadyExists)
        : make(ErrorCode.Aborted, `conflict: ${message}; re-read and retry`);
    case 410:
      return make(ErrorCode.OutOfRange, `${message}; re-list and watch again`);
    case 422:
      return make(ErrorCode.InvalidArgument);
    case 429:
      return make(ErrorCode.Unavailable);
    default:
      if (code >= 500 && code <= 599) return make(ErrorCode.Unavailable);
      return make(ErrorCode.Internal);
  }
}

/**
 * The HTTP status and Status body of an error, if it is one: client-node's ApiException (body: the
 * response text, or nothing for 401), or the Error with `statusCode` its Watch fails with.
 */
function httpStatusOf(err: unknown): { code: number; status: KubeStatus } | undefined {
  if (err instanceof ApiException || isCodedError(err, "code")) {
    const e = err as { code: number; body?: unknown; message?: string };
    return { code: e.code, status: parseStatus(e.body) ?? {} };
  }
  if (isCodedError(err, "statusCode")) {
    const e = err as { statusCode: number; message?: string };
    return { code: e.statusCode, status: { message: e.message } };
  }
  return undefined;
}

/** An Error carrying a numeric HTTP status in `field` (a number, unlike Node's string `code`s). */
function isCodedError(err: unknown, field: "code" | "statusCode"): boolean {
  if (!(err instanceof Error)) return false;
  const value = (err as unknown as Record<string, unknown>)[field];
  return typeof value === "number" && value >= 100 && value <= 599;
}

function parseStatus(body: unknown): KubeStatus | undefined {
  let value = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch {
      return body.trim() === "" ? undefined : { message: body.trim().slice(0, 500) };
    }
  }
  return typeof value === "object" && value !== null ? (value as KubeStatus) : undefined;
}

function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODE.test(code)) return true;
    if (e.name === "AbortError" || e.name === "TimeoutError") return true;
    if (e instanceof TypeError && e.message === "fetch failed") return true;
  }
  return false;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : "";
  return `${err.message}${cause}`;
}

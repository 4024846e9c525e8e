/** The API port: one TCP listener serving gRPC, gRPC-Web and Connect over HTTP/1.1 and cleartext HTTP/2. */
import type net from "node:net";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { authFailureMessage, BearerToken } from "../http/bearer-token.ts";
import { ApiListener, type ApiRequest, type ApiResponse } from "./api-listener.ts";
import { bearerAuthGate } from "./bearer-auth-gate.ts";
import { errorBoundary } from "./error-boundary.ts";
import type { InternalErrorLogger } from "./error-codes.ts";
import { recordingHandler, strictInput, watchReadFailure } from "./request-input.ts";

export type { ApiRequest, ApiResponse } from "./api-listener.ts";

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  /** Registers the services, e.g. `(router) => router.service(FastPathService, impl)`. */
  routes: (router: ConnectRouter) => void;
  /** Bearer token every RPC (and every unmatched path) must carry. Required unless `insecure`. */
  token?: string;
  /** Serve without a token (development only). Ignored when a token is given. */
  insecure?: boolean;
  /**
   * Serves plain HTTP paths (`/healthz`, a console, ...) on the same port. Called first for every
   * request; returns true when it answered. It decides about auth itself (see `isAuthorized`).
   */
  extraHttpHandler?: (req: ApiRequest, res: ApiResponse) => boolean | Promise<boolean>;
  /** Receives errors not shown to clients (INTERNAL, unknown, failures outside RPCs). */
  logError?: InternalErrorLogger;
  /** How long close() lets in-flight calls finish before it cuts connections. Default 5 s. */
  shutdownGraceMs?: number;
  /** Largest accepted request message. Default 4 MiB. */
  readMaxBytes?: number;
}

/** The running server. */
export interface ApiServer {
  /** Starts listening; resolves once the port is bound. Port 0 picks a free port. */
  listen(port: number, host?: string): Promise<void>;
  /**
   * Graceful stop: stops accepting, ends open streams at once with UNAVAILABLE ("server is
   * shutting down"), lets unary calls finish within the grace period, then closes every
   * connection (which aborts the signals of calls still running). Idempotent.
   */
  close(): Promise<void>;
  /** The bound address once listening. */
  readonly address: net.AddressInfo | undefined;
  /** Whether a request carries the configured bearer token (always true without a token). */
  isAuthorized(req: ApiRequest): boolean;
}

const DEFAULT_GRACE_MS = 5_000;
const DEFAULT_READ_MAX_BYTES = 4 * 1024 * 1024;
const SHUTDOWN_MESSAGE = "server is shutting down";

/**
 * Builds the API server: one TCP listener for HTTP/1.1 and cleartext HTTP/2 (see ApiListener),
 * whose requests go first to the plain HTTP handler, then to one Connect handler with the
 * bearer-token gate and the error boundary.
 */
export function createApiServer(options: ApiServerOptions): ApiServer {
  const token = options.token ? new BearerToken(options.token) : undefined;
  if (!token && !options.insecure) {
    throw new FsbError(ErrorCode.InvalidArgument, "required unless insecure is set", { field: "token" });
  }
  const log: InternalErrorLogger =
    options.logError ??
    ((err, context) => console.error(`[api-server] ${context.procedure} (ref ${context.ref}):`, err));
  const shutdown = new AbortController();
  const rpcPaths = new Set<string>();
  const readMaxBytes = options.readMaxBytes ?? DEFAULT_READ_MAX_BYTES;
  const authGate = token ? bearerAuthGate(token) : undefined;
  const connectHandler = connectNodeAdapter({
    routes(router) {
      options.routes(router);
      // The adapter serves router.handlers as they are once this returns: each gets its body
      // recorded, for the input boundary (request-input.ts).
      router.handlers.splice(0, Infinity, ...router.handlers.map((h) => recordingHandler(h, readMaxBytes)));
      for (const handler of router.handlers) rpcPaths.add(handler.requestPath);
    },
    interceptors: [errorBoundary(log, shutdown.signal), strictInput()],
    requestGate: (context) => {
      watchReadFailure(context);
      return authGate?.(context);
    },
    readMaxBytes,
    // Unknown JSON keys and enum names are refused, as the agent API refuses unknown fields: a
    // misspelt field must not be silently dropped (connect-es ignores them by default).
    jsonOptions: { ignoreUnknownFields: false },
    fallback: (req, res) =>
      sendConnectError(res, 404, "unimplemented", `no procedure or path ${pathOf(req)}`),
  });

  async function handle(req: ApiRequest, res: ApiResponse): Promise<void> {
    if (options.extraHttpHandler && (await options.extraHttpHandler(req, res))) return;
    if (token && !rpcPaths.has(pathOf(req))) {
      // RPCs are checked by the request gate, in their own protocol; other paths here.
      const failure = token.check(req.headers.authorization);
      if (failure) return sendConnectError(res, 401, "unauthenticated", authFailureMessage(failure));
    }
    connectHandler(req, res);
  }
  const listener = new ApiListener((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(err, { procedure: pathOf(req), ref: "http" });
      if (!res.headersSent) sendConnectError(res, 500, "internal", "internal error");
      else res.destroy();
    });
  }, log);

  let closed: Promise<void> | undefined;
  return {
    async listen(port, host) {
      if (listener.closing) throw new FsbError(ErrorCode.FailedPrecondition, "server is closed");
      await listener.listen(port, host);
    },
    close() {
      closed ??= listener.close(options.shutdownGraceMs ?? DEFAULT_GRACE_MS, () =>
        shutdown.abort(new ConnectError(SHUTDOWN_MESSAGE, Code.Unavailable)),
      );
      return closed;
    },
    get address() {
      return listener.address;
    },
    isAuthorized: (req) => !token || token.check(req.headers.authorization) === undefined,
  };
}

function pathOf(req: ApiRequest): string {
  return (req.url ?? "/").split("?", 1)[0] ?? "/";
}

/** The part of a Node response (HTTP/1 or HTTP/2) that {@link sendConnectError} uses. */
interface MinimalResponse {
  statusCode: number;
  setHeader(name: string, value: string | number): unknown;
  end(body: string): unknown;
}

/** A Connect-style JSON error body (`{code, message}` with Connect's code names), for answers outside any RPC. */
function sendConnectError(res: MinimalResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ code, message });
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.setHeader("content-length", Buffer.byteLength(body));
  res.end(body);
}

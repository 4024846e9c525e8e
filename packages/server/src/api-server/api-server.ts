/** The API port: one TCP listener serving gRPC, gRPC-Web and Connect over HTTP/1.1 and cleartext HTTP/2. */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { authFailureMessage, BearerToken } from "../http/bearer-token.ts";
import { bearerAuthGate } from "./bearer-auth-gate.ts";
import { errorBoundary } from "./error-boundary.ts";
import type { InternalErrorLogger } from "./error-codes.ts";
import { sniffProtocol, type WireProtocol } from "./protocol-sniffer.ts";

export type ApiRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type ApiResponse = http.ServerResponse | http2.Http2ServerResponse;

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

/** A connection that has not shown its protocol within this time is dropped. */
const SNIFF_TIMEOUT_MS = 10_000;
const DEFAULT_GRACE_MS = 5_000;
const DEFAULT_READ_MAX_BYTES = 4 * 1024 * 1024;
const SHUTDOWN_MESSAGE = "server is shutting down";

/**
 * Builds the API server. Connections whose first bytes are the HTTP/2 preface go to an HTTP/2
 * server (gRPC, and Connect or gRPC-Web over h2c); all others to an HTTP/1.1 server (Connect JSON
 * or binary, gRPC-Web). Both share one Connect handler with the bearer-token gate and the error
 * boundary.
 */
export function createApiServer(options: ApiServerOptions): ApiServer {
  const token = options.token ? new BearerToken(options.token) : undefined;
  if (!token && !options.insecure) {
    throw new FsbError(ErrorCode.InvalidArgument, "required unless insecure is set", { field: "token" });
  }
  const log: InternalErrorLogger =
    options.logError ??
    ((err, context) => console.error(`[api-server] ${context.procedure} (ref ${context.ref}):`, err));
  const graceMs = options.shutdownGraceMs ?? DEFAULT_GRACE_MS;

  const shutdown = new AbortController();
  const rpcPaths = new Set<string>();
  const connectHandler = connectNodeAdapter({
    routes(router) {
      options.routes(router);
      for (const handler of router.handlers) rpcPaths.add(handler.requestPath);
    },
    interceptors: [errorBoundary(log, shutdown.signal)],
    requestGate: token ? bearerAuthGate(token) : undefined,
    readMaxBytes: options.readMaxBytes ?? DEFAULT_READ_MAX_BYTES,
    fallback: (req, res) => sendError(res, 404, "unimplemented", `no procedure or path ${pathOf(req)}`),
  });

  let closing = false;
  let closed: Promise<void> | undefined;

  const isAuthorized = (req: ApiRequest): boolean =>
    !token || token.check(headerValue(req.headers.authorization)) === undefined;

  async function handle(req: ApiRequest, res: ApiResponse): Promise<void> {
    if (req instanceof http2.Http2ServerRequest) drainUnreadBodyAfterResponse(req.stream);
    else if (closing) res.setHeader("connection", "close");
    if (options.extraHttpHandler && (await options.extraHttpHandler(req, res))) return;
    if (token && !rpcPaths.has(pathOf(req))) {
      // RPCs are checked by the request gate, in their own protocol; other paths here.
      const failure = token.check(headerValue(req.headers.authorization));
      if (failure) return sendError(res, 401, "unauthenticated", authFailureMessage(failure));
    }
    connectHandler(req, res);
  }

  function onRequest(req: ApiRequest, res: ApiResponse): void {
    handle(req, res).catch((err: unknown) => {
      log(err, { procedure: pathOf(req), ref: "http" });
      if (!res.headersSent) sendError(res, 500, "internal", "internal error");
      else res.destroy();
    });
  }

  const h1 = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000 }, onRequest);
  // h1 never listens itself; this starts its header/request timeout checks and the connection
  // list that closeIdleConnections() uses (both are set up on 'listening').
  h1.emit("listening");

  const h2 = http2.createServer({}, onRequest);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (closing) session.close();
  });
  // Protocol errors of one peer end that peer's session; nothing to do for the server.
  h2.on("sessionError", () => {});

  const sockets = new Set<net.Socket>();
  const sniffing = new Set<net.Socket>();
  const dispatch = (protocol: WireProtocol, socket: net.Socket) => {
    sniffing.delete(socket);
    if (protocol === "http2") {
      // The session reads what is buffered (the preface) from the socket, then takes over its handle.
      h2.emit("connection", socket);
    } else {
      h1.emit("connection", socket);
      // The HTTP/1 parser reads the buffered head through 'data' before any new bytes arrive.
      socket.resume();
    }
  };
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    sniffing.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      sniffing.delete(socket);
    });
    sniffProtocol(socket, { timeoutMs: SNIFF_TIMEOUT_MS, dispatch });
  });
  // Accept errors (EMFILE, ...) must not crash the process; listen errors reject listen().
  tcp.on("error", (err) => {
    if (tcp.listening) log(err, { procedure: "accept", ref: "tcp" });
  });

  async function stop(): Promise<void> {
    closing = true;
    const tcpClosed = new Promise<void>((resolve) => {
      if (tcp.listening) tcp.close(() => resolve());
      else resolve();
    });
    shutdown.abort(new ConnectError(SHUTDOWN_MESSAGE, Code.Unavailable));
    for (const socket of sniffing) socket.destroy();
    for (const session of sessions) session.close();
    h1.closeIdleConnections();
    // Unary calls may still be finishing; their HTTP/1 connections close after the response.
    const deadline = Date.now() + graceMs;
    while (sockets.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      h1.closeIdleConnections();
    }
    for (const socket of sockets) socket.destroy();
    h1.close(() => {});
    await tcpClosed;
  }

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        if (closing) {
          reject(new FsbError(ErrorCode.FailedPrecondition, "server is closed"));
          return;
        }
        const onError = (err: Error) => reject(err);
        tcp.once("error", onError);
        tcp.listen(port, host, () => {
          tcp.off("error", onError);
          resolve();
        });
      });
    },
    close() {
      closed ??= stop();
      return closed;
    },
    get address() {
      const address = tcp.address();
      return address && typeof address === "object" ? address : undefined;
    },
    isAuthorized,
  };
}

/** Request bytes an HTTP/2 error answer still reads and discards before it resets the stream. */
const MAX_DRAIN_BYTES = 1024 * 1024;

/**
 * When an HTTP/2 response ends before anything read the request body (auth rejected, unknown path),
 * Node resets the stream with RST_STREAM(NO_ERROR) while the client may still be sending it. That
 * is legal, but some clients (curl 7.x) then report a framing error instead of the answer. So the
 * unread body is drained instead (up to MAX_DRAIN_BYTES), and the stream ends normally. Runs on
 * the stream's 'finish', before Node's own 'finish' listener makes that decision.
 */
function drainUnreadBodyAfterResponse(stream: http2.ServerHttp2Stream): void {
  stream.once("finish", () => {
    if (stream.readableFlowing !== null || stream.readableEnded || stream.destroyed) return;
    let drained = 0;
    stream.on("data", (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > MAX_DRAIN_BYTES) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
  });
}

function pathOf(req: ApiRequest): string {
  return (req.url ?? "/").split("?", 1)[0] ?? "/";
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The part of a Node response (HTTP/1 or HTTP/2) that {@link sendError} uses. */
interface MinimalResponse {
  statusCode: number;
  setHeader(name: string, value: string | number): unknown;
  end(body: string): unknown;
}

/** A Connect-style JSON error body, for answers outside any RPC. */
function sendError(res: MinimalResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ code, message });
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.setHeader("content-length", Buffer.byteLength(body));
  res.end(body);
}

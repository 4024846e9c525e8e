/** The API port's connections: one TCP listener whose connections go to an HTTP/1.1 or an HTTP/2 server by their first bytes. */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { InternalErrorLogger } from "./error-codes.ts";
import { sniffProtocol, type WireProtocol } from "./protocol-sniffer.ts";

export type ApiRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type ApiResponse = http.ServerResponse | http2.Http2ServerResponse;

/** A connection that has not shown its protocol within this time is dropped. */
const SNIFF_TIMEOUT_MS = 10_000;
/** Request bytes an HTTP/2 error answer still reads and discards before it resets the stream. */
const MAX_DRAIN_BYTES = 1024 * 1024;

/**
 * Connections whose first bytes are the HTTP/2 preface go to an HTTP/2 server (gRPC, and Connect
 * or gRPC-Web over h2c); all others to an HTTP/1.1 server (Connect JSON or binary, gRPC-Web). Both
 * hand every request to `onRequest`.
 */
export class ApiListener {
  readonly #h1: http.Server;
  readonly #h2: http2.Http2Server;
  readonly #tcp: net.Server;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #sockets = new Set<net.Socket>();
  readonly #sniffing = new Set<net.Socket>();
  #closing = false;

  constructor(onRequest: (req: ApiRequest, res: ApiResponse) => void, log: InternalErrorLogger) {
    const handle = (req: ApiRequest, res: ApiResponse) => {
      if (req instanceof http2.Http2ServerRequest) drainUnreadBodyAfterResponse(req.stream);
      else if (this.#closing) res.setHeader("connection", "close");
      onRequest(req, res);
    };
    this.#h1 = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000 }, handle);
    // h1 never listens itself; this starts its header/request timeout checks and the connection
    // list that closeIdleConnections() uses (both are set up on 'listening').
    this.#h1.emit("listening");
    this.#h2 = http2.createServer({}, handle);
    this.#h2.on("session", (session) => {
      this.#sessions.add(session);
      session.once("close", () => this.#sessions.delete(session));
      if (this.#closing) session.close();
    });
    // Protocol errors of one peer end that peer's session; nothing to do for the server.
    this.#h2.on("sessionError", () => {});
    this.#tcp = net.createServer({ noDelay: true }, (socket) => this.#accept(socket));
    // Accept errors (EMFILE, ...) must not crash the process; listen errors reject listen().
    this.#tcp.on("error", (err) => {
      if (this.#tcp.listening) log(err, { procedure: "accept", ref: "tcp" });
    });
  }

  /** Whether close() has begun. */
  get closing(): boolean {
    return this.#closing;
  }

  get address(): net.AddressInfo | undefined {
    const address = this.#tcp.address();
    return address && typeof address === "object" ? address : undefined;
  }

  listen(port: number, host: string | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#tcp.once("error", onError);
      this.#tcp.listen(port, host, () => {
        this.#tcp.off("error", onError);
        resolve();
      });
    });
  }

  /**
   * Stops accepting, calls `stopping` (which ends streams), closes HTTP/2 sessions and idle
   * HTTP/1.1 connections, lets busy ones finish within `graceMs`, then destroys what is left.
   */
  async close(graceMs: number, stopping: () => void): Promise<void> {
    this.#closing = true;
    const tcpClosed = new Promise<void>((resolve) => {
      if (this.#tcp.listening) this.#tcp.close(() => resolve());
      else resolve();
    });
    stopping();
    for (const socket of this.#sniffing) socket.destroy();
    for (const session of this.#sessions) session.close();
    this.#h1.closeIdleConnections();
    // Unary calls may still be finishing; their HTTP/1 connections close after the response.
    const deadline = Date.now() + graceMs;
    while (this.#sockets.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      this.#h1.closeIdleConnections();
    }
    for (const socket of this.#sockets) socket.destroy();
    this.#h1.close(() => {});
    await tcpClosed;
  }

  #accept(socket: net.Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    this.#sniffing.add(socket);
    socket.once("close", () => {
      this.#sockets.delete(socket);
      this.#sniffing.delete(socket);
    });
    sniffProtocol(socket, {
      timeoutMs: SNIFF_TIMEOUT_MS,
      dispatch: (protocol, s) => this.#dispatch(protocol, s),
    });
  }

  #dispatch(protocol: WireProtocol, socket: net.Socket): void {
    this.#sniffing.delete(socket);
    if (protocol === "http2") {
      // The session reads what is buffered (the preface) from the socket, then takes over its handle.
      this.#h2.emit("connection", socket);
    } else {
      this.#h1.emit("connection", socket);
      // The HTTP/1 parser reads the buffered head through 'data' before any new bytes arrive.
      socket.resume();
    }
  }
}

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

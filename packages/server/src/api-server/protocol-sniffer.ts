/** Tells HTTP/2 prior-knowledge (h2c) connections from HTTP/1.x ones by their first bytes. */
import type net from "node:net";

/** What every HTTP/2 client sends first (RFC 9113 §3.4); no HTTP/1.x request starts like this. */
export const HTTP2_PREFACE: Buffer = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export type WireProtocol = "http1" | "http2";

/** The protocol of a connection that started with `head`, or undefined when more bytes are needed. */
export function classifyHead(head: Buffer): WireProtocol | undefined {
  const n = Math.min(head.length, HTTP2_PREFACE.length);
  if (head.compare(HTTP2_PREFACE, 0, n, 0, n) !== 0) return "http1";
  return n === HTTP2_PREFACE.length ? "http2" : undefined;
}

/** Options of {@link sniffProtocol}. */
export interface SniffOptions {
  /** A connection that has not shown its protocol within this time is closed. */
  timeoutMs: number;
  /**
   * Called once with the protocol. The bytes read so far are back in the socket's buffer
   * (`unshift`) and the socket is paused: the callee hands it to the matching server.
   */
  dispatch: (protocol: WireProtocol, socket: net.Socket) => void;
}

/**
 * Reads from a fresh connection until its protocol is known (one chunk, normally; the preface may
 * also arrive in pieces), then dispatches it. A connection that errors, ends or times out first is
 * destroyed without any other effect.
 */
export function sniffProtocol(socket: net.Socket, options: SniffOptions): void {
  let head: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => {
    cleanup();
    socket.destroy();
  }, options.timeoutMs);
  timer.unref();

  const onData = (chunk: Buffer) => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const protocol = classifyHead(head);
    if (protocol === undefined) return;
    cleanup();
    socket.pause();
    socket.unshift(head);
    options.dispatch(protocol, socket);
  };
  const onGone = () => {
    cleanup();
    socket.destroy();
  };

  function cleanup(): void {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("error", onGone);
    socket.off("end", onGone);
    socket.off("close", onGone);
  }

  socket.on("data", onData);
  socket.on("error", onGone);
  socket.on("end", onGone);
  socket.on("close", onGone);
}

/** Sends request bytes no generated client would send (bad JSON, broken protobuf) over Connect or gRPC, and reads the error. */
import http2 from "node:http2";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { endStreamFlag, errorFromJson } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";

/** How the bytes travel: Connect (unary or enveloped streaming, by the method) or gRPC. */
export type RawWire = "connect" | "grpc";
export type RawFormat = "json" | "proto";

export interface RawCall {
  baseUrl: string;
  token: string | undefined;
  method: DescMethod;
  wire: RawWire;
  format: RawFormat;
  body: Uint8Array;
  timeoutMs?: number;
}

/** The call's error, or undefined when it succeeded (for a stream: ended without an error). */
export async function rawCall(call: RawCall): Promise<ConnectError | undefined> {
  return call.wire === "grpc" ? grpcCall(call) : connectCall(call);
}

function pathOf(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** One message in a gRPC/Connect envelope: a flags byte and a big-endian length. */
export function envelope(body: Uint8Array, flags = 0): Uint8Array {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(body.byteLength, 1);
  return Buffer.concat([head, body]);
}

async function connectCall(call: RawCall): Promise<ConnectError | undefined> {
  const streaming = call.method.methodKind !== "unary";
  const contentType = streaming ? `application/connect+${call.format}` : `application/${call.format}`;
  const res = await fetch(`${call.baseUrl}${pathOf(call.method)}`, {
    method: "POST",
    headers: {
      "content-type": contentType,
      "connect-protocol-version": "1",
      ...(call.token ? { authorization: `Bearer ${call.token}` } : {}),
    },
    body: streaming ? envelope(call.body) : call.body,
    signal: AbortSignal.timeout(call.timeoutMs ?? 10_000),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const fallback = new ConnectError(
    `HTTP ${res.status}: ${bytes.toString("utf8").slice(0, 200)}`,
    Code.Unknown,
  );
  if (!streaming)
    return res.status === 200
      ? undefined
      : errorFromJson(JSON.parse(bytes.toString("utf8")), undefined, fallback);
  for (let at = 0; at + 5 <= bytes.length; ) {
    const flags = bytes[at]!;
    const length = bytes.readUInt32BE(at + 1);
    const data = bytes.subarray(at + 5, at + 5 + length);
    if (flags & endStreamFlag) {
      const end = JSON.parse(data.toString("utf8")) as { error?: unknown };
      return end.error === undefined ? undefined : errorFromJson(end.error as never, undefined, fallback);
    }
    at += 5 + length;
  }
  return res.status === 200
    ? fallback
    : errorFromJson(JSON.parse(bytes.toString("utf8")), undefined, fallback);
}

async function grpcCall(call: RawCall): Promise<ConnectError | undefined> {
  const session = http2.connect(call.baseUrl);
  try {
    return await new Promise<ConnectError | undefined>((resolve, reject) => {
      session.once("error", reject);
      const req = session.request({
        ":method": "POST",
        ":path": pathOf(call.method),
        "content-type": `application/grpc+${call.format}`,
        te: "trailers",
        ...(call.token ? { authorization: `Bearer ${call.token}` } : {}),
      });
      req.setTimeout(call.timeoutMs ?? 10_000, () => req.close(http2.constants.NGHTTP2_CANCEL));
      let headers: http2.IncomingHttpHeaders = {};
      // The status is in the trailers, or in the headers of a trailers-only answer. The call is
      // done once it is known: a server that refused early may never read the rest of the body.
      const settle = (raw: http2.IncomingHttpHeaders) => {
        const status = toHeaders(raw);
        if (!status.has("grpc-status")) return false;
        resolve(findTrailerError(status));
        req.close(http2.constants.NGHTTP2_CANCEL);
        return true;
      };
      req.on("response", (h) => {
        headers = h;
        settle(h);
      });
      req.on("trailers", (t) => settle(t));
      req.on("data", () => {});
      req.on("error", reject);
      req.on("close", () => reject(new Error(`no grpc-status (HTTP ${headers[":status"]})`)));
      req.end(envelope(call.body));
    });
  } finally {
    session.close();
  }
}

function toHeaders(raw: http2.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith(":") || value === undefined) continue;
    out.set(key, Array.isArray(value) ? value.join(", ") : String(value));
  }
  return out;
}

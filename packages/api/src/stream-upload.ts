/**
 * An HTTP request whose body streams with backpressure, for uploads of any size (the SDK to the
 * controller, the controller to an agent). fetch() is not used for these: it reads a stream body as
 * fast as the source gives it and queues what the socket has not taken, so a 200 MB upload to a
 * slower receiver grew the sender by 200 MB (measured with Node 24's fetch). node:http writes a
 * chunk, and waits for the socket to drain before it reads the next.
 */
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/** The answer's body is read whole: it is a short status or error document, never file content. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export interface StreamUploadRequest {
  method: "PUT" | "POST";
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array>;
  signal?: AbortSignal | undefined;
}

export interface StreamUploadAnswer {
  status: number;
  /** The answer's body as text (at most 1 MiB). */
  text: string;
}

/**
 * Sends `request` to `url` (http or https) with a chunked body and resolves with the answer. A
 * server that answers before it read the whole body (a refusal) is answered, not an error: the rest
 * of the body is not sent. Rejects for a connection that fails or breaks off before an answer, and
 * on abort.
 */
export function streamUpload(url: string, request: StreamUploadRequest): Promise<StreamUploadAnswer> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    let answered = false;
    const source = Readable.from(request.body, { objectMode: false });
    const req = client.request(target, {
      method: request.method,
      headers: { ...request.headers, "transfer-encoding": "chunked" },
      ...(request.signal ? { signal: request.signal } : {}),
    });
    req.once("response", (res) => {
      answered = true;
      // Nothing more of the body is wanted once the server has answered.
      source.destroy();
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
      });
      res.once("end", () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
      );
      res.once("error", reject);
    });
    req.once("error", (err) => {
      if (!answered) reject(err);
    });
    pipeline(source, req).catch((err: unknown) => {
      // A body cut short by the server's own answer is not a failure; anything else is.
      if (!answered) req.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
}

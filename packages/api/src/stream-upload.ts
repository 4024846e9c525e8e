/**
 * An HTTP request whose body streams with backpressure, for uploads of any size (the SDK to the
 * controller, the controller to an agent). fetch() is not used for these: it reads a stream body as
 * fast as the source gives it and queues what the socket has not taken, so a 200 MB upload to a
 * slower receiver grew the sender by 200 MB (measured with Node 24's fetch). Here each chunk is
 * written, and the next is read from the source only once the socket has taken it.
 */
import http from "node:http";
import https from "node:https";

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
 * server that answers before it read the whole body (a refusal) is answered, not an error: no more
 * of the body is read or sent, and the connection is closed once the answer is in. Rejects for a
 * connection that fails or breaks off before an answer, and on abort.
 */
export function streamUpload(url: string, request: StreamUploadRequest): Promise<StreamUploadAnswer> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    let answered = false;
    const chunks = request.body[Symbol.asyncIterator]();
    const req = client.request(target, {
      method: request.method,
      headers: { ...request.headers, "transfer-encoding": "chunked" },
      ...(request.signal ? { signal: request.signal } : {}),
    });
    req.on("response", (res) => {
      answered = true;
      // Stop the source; a generator blocked in next() returns once that call is done.
      chunks.return?.()?.catch(() => {});
      const parts: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_ANSWER_BYTES) parts.push(chunk);
      });
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString("utf8") });
        // A body cut short leaves the connection unusable: close it rather than leave it waiting.
        if (!req.writableFinished) req.destroy();
      });
      res.on("error", reject);
    });
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    void send(req, chunks, () => answered);
  });
}

/** Writes the source's chunks while no answer came, waiting for each to drain; ends the body. */
async function send(
  req: http.ClientRequest,
  chunks: AsyncIterator<Uint8Array>,
  answered: () => boolean,
): Promise<void> {
  try {
    for (;;) {
      const next = await chunks.next();
      if (answered() || req.destroyed) {
        await chunks.return?.();
        return;
      }
      if (next.done) {
        req.end();
        return;
      }
      if (!req.write(next.value)) await drainedOrClosed(req);
    }
  } catch (err) {
    // The source failed: the server must not take a short body for a whole one.
    if (!answered()) req.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}

function drainedOrClosed(req: http.ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off("drain", done);
      req.off("close", done);
      resolve();
    };
    req.on("drain", done);
    req.on("close", done);
  });
}

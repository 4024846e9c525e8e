/** Reading a request's JSON body with a size limit: too large, empty and malformed bodies are INVALID_ARGUMENT. */
import { ErrorCode, FsbError } from "@fast-sandbox/api";

/** A body over the reader's limit; answered 413 (see errorStatus). */
export class BodyTooLargeError extends FsbError {
  constructor(maxBytes: number) {
    super(ErrorCode.InvalidArgument, `request body exceeds ${maxBytes} bytes`);
  }
}

/** What the reader needs of a request (both Node HTTP servers' requests have it). */
export interface BodySource extends AsyncIterable<Buffer | string> {
  readonly headers: { "content-length"?: string | undefined };
  resume(): unknown;
}

/**
 * Reads and parses the body, holding at most `maxBytes` in memory: a declared Content-Length over
 * the limit fails before any byte is read, and a body that grows past it fails at that chunk. The
 * rest of a refused body is discarded (not read into memory), so the connection stays usable.
 */
export async function readJsonBody(req: BodySource, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) {
    req.resume();
    throw new BodyTooLargeError(maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > maxBytes) {
      req.resume();
      throw new BodyTooLargeError(maxBytes);
    }
    chunks.push(bytes);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "")
    throw new FsbError(ErrorCode.InvalidArgument, "request body is empty; expected JSON");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FsbError(ErrorCode.InvalidArgument, `malformed JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The API's input boundary: a request connect-es cannot read is the client's fault, INVALID_ARGUMENT naming the field. */
import type { DescMessage } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { invalidArgument } from "@fast-sandbox/api";
import { BadRequestSchema } from "@fast-sandbox/api/gen/google/rpc/error_details_pb.ts";
import { JsonDepthGuard } from "./json-depth-guard.ts";
import { findJsonProblem } from "./json-input-check.ts";
import { findUnknownField } from "./unknown-fields.ts";

/**
 * What the boundary keeps of one call's request: the body's bytes as connect-es read them (up to
 * the read limit; only looked at when parsing failed), and whether a parsed message reached the
 * interceptors, after which failures are the implementation's, not the input's.
 */
class RequestInput {
  readonly contentType: string;
  readonly compressed: boolean;
  readonly chunks: Uint8Array[] = [];
  size = 0;
  complete = true;
  parsed = false;

  constructor(header: Headers) {
    this.contentType = (header.get("content-type") ?? "").split(";", 1)[0]!.trim().toLowerCase();
    const encoding = header.get("content-encoding") ?? header.get("connect-content-encoding");
    this.compressed = encoding !== null && encoding !== "identity";
  }
}

const requestInputKey = createContextKey<RequestInput | undefined>(undefined, {
  description: "fsb request input",
});

/**
 * Wraps a connect-es handler so that its request body is recorded as it is read (at most
 * `limitBytes`, the server's read limit, so the copy never exceeds what connect-es holds itself),
 * and a JSON body nested too deeply is refused before it is parsed (see JsonDepthGuard).
 */
export function recordingHandler(handler: UniversalHandler, limitBytes: number): UniversalHandler {
  const wrapped = (req: UniversalServerRequest) => {
    const input = new RequestInput(req.header);
    const contextValues = req.contextValues ?? createContextValues();
    contextValues.set(requestInputKey, input);
    const body = req.body;
    if (body === null || typeof body !== "object" || !(Symbol.asyncIterator in body)) {
      return handler({ ...req, contextValues });
    }
    return handler({ ...req, contextValues, body: recordChunks(body, input, limitBytes) });
  };
  return Object.assign(wrapped, {
    protocolNames: handler.protocolNames,
    service: handler.service,
    method: handler.method,
    requestPath: handler.requestPath,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
  });
}

async function* recordChunks(
  body: AsyncIterable<Uint8Array>,
  input: RequestInput,
  limitBytes: number,
): AsyncGenerator<Uint8Array> {
  const guard =
    isJson(input.contentType) && !input.compressed
      ? new JsonDepthGuard(input.contentType !== "application/json")
      : undefined;
  let refusal: unknown;
  // Not `for await`: leaving that loop early (connect-es stops reading a body it refuses) would
  // destroy the request stream, and with it an HTTP/1.1 connection the client may be about to
  // reuse. What is left unread is read off and dropped instead (the listener's requestTimeout
  // bounds how long), after a refusal here as after one by connect-es.
  const source = body[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      const step = await source.next();
      if (step.done) {
        done = true;
        break;
      }
      const chunk = step.value;
      if (refusal !== undefined) continue;
      try {
        guard?.feed(chunk);
      } catch (err) {
        refusal = err;
        input.complete = false;
        continue;
      }
      if (input.complete && input.size + chunk.byteLength <= limitBytes) {
        input.chunks.push(chunk);
        input.size += chunk.byteLength;
      } else {
        input.complete = false;
      }
      yield chunk;
    }
  } finally {
    if (!done) void drain(source);
  }
  if (refusal !== undefined) throw refusal;
}

async function drain(source: AsyncIterator<Uint8Array>): Promise<void> {
  try {
    while (!(await source.next()).done) {
      // dropped
    }
  } catch {
    // The client went away: nothing is left to drop.
  }
}

/**
 * Called from the request gate (the first hook connect-es gives with the call's context, before the
 * body is read): when the call ends with an error before a parsed message reached the interceptors,
 * that error came from reading the request, and is translated ({@link translateReadFailure}).
 */
export function watchReadFailure(context: HandlerContext): void {
  const input = context.values.get(requestInputKey);
  if (!input) return;
  const onAbort = () => {
    if (!input.parsed) translateReadFailure(context.signal.reason, input, context.method.input);
  };
  context.signal.addEventListener("abort", onAbort, { once: true });
}

/**
 * Marks the call's input as parsed and refuses unknown fields of binary requests (JSON ones are
 * already refused by the parser). Server streams get their one request message through an
 * iterable, which is wrapped so the mark happens once it has been read.
 */
export function strictInput(): Interceptor {
  return (next) => async (req) => {
    const input = req.contextValues.get(requestInputKey);
    const accept = (message: Parameters<typeof findUnknownField>[1]) => {
      if (input) input.parsed = true;
      const unknown = findUnknownField(req.method.input, message);
      if (unknown) throw invalidArgument(unknown.field, unknown.description);
    };
    if (!req.stream) {
      accept(req.message);
      return next(req);
    }
    const source = req.message;
    async function* checked() {
      for await (const message of source) {
        accept(message);
        yield message;
      }
    }
    return next({ ...req, message: checked() });
  };
}

/**
 * connect-es parses the request before any interceptor runs, and answers a binary message it
 * cannot parse with INTERNAL ("parse binary: premature EOF") and a JSON one with INVALID_ARGUMENT
 * and protobuf-es's text, naming no field as data. Both are the client's input, so here the error
 * becomes INVALID_ARGUMENT, and for JSON the field the request fails on (found by walking the
 * recorded body along the schema) travels as a `google.rpc.BadRequest` detail, as every other
 * field error does.
 *
 * connect-es aborts the call's context with the error and only then writes it out (Connect: the
 * status and body; gRPC: the trailers), so the error object is amended in place: there is no hook
 * between its parse and its answer. Other codes raised while reading (a body over the read limit,
 * an unsupported compression, a bad timeout header, the token gate) stay as connect-es made them.
 */
export function translateReadFailure(reason: unknown, input: RequestInput, desc: DescMessage): void {
  if (!(reason instanceof ConnectError)) return;
  if (reason.code !== Code.Internal && reason.code !== Code.InvalidArgument) return;
  const problem = isJson(input.contentType) ? findJsonProblem(desc, recordedJson(input)) : undefined;
  // An INVALID_ARGUMENT whose field cannot be found (bad JSON syntax, a bad timeout header) is already right.
  if (reason.code === Code.InvalidArgument && !problem) return;
  const rawMessage = problem
    ? `${problem.field}: ${problem.description}`
    : `request is not a valid ${desc.typeName}: ${reason.rawMessage}`;
  Object.assign(reason, {
    code: Code.InvalidArgument,
    rawMessage,
    message: `[invalid_argument] ${rawMessage}`,
  });
  if (problem) {
    reason.details.push({
      desc: BadRequestSchema,
      value: { fieldViolations: [{ field: problem.field, description: problem.description }] },
    });
  }
}

function isJson(contentType: string): boolean {
  return contentType.endsWith("json");
}

/** The first message of the recorded body as JSON, or undefined when it cannot be recovered. */
function recordedJson(input: RequestInput): unknown {
  if (!input.complete || input.compressed) return undefined;
  let bytes = Buffer.concat(input.chunks);
  // Every protocol but Connect unary frames messages in envelopes: 1 flag byte, 4 length bytes.
  if (input.contentType !== "application/json") {
    const flags = bytes[0];
    if (bytes.length < 5 || flags === undefined || (flags & 1) !== 0) return undefined;
    bytes = bytes.subarray(5, 5 + bytes.readUInt32BE(1));
  }
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
}

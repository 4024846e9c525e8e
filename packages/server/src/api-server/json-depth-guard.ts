/** Refuses a JSON request nested too deeply while its bytes arrive, before anything parses it. */
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@fast-sandbox/api/gen/google/rpc/error_details_pb.ts";

/**
 * Deepest JSON nesting a request may have. protobuf-es refuses messages nested over 100 levels
 * (its recursion limit), and a JSON level of a Struct is two of them (Struct, Value), so no request
 * it would accept is refused here. The guard exists because V8's JSON.parse needs ~1.6 s for a
 * 4 MiB array nested two million deep, blocking every other call; the scan costs a few ms.
 */
export const MAX_JSON_DEPTH = 100;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x5b, 0x7b]); // [ {
const CLOSE = new Set([0x5d, 0x7d]); // ] }
const COMMA = 0x2c;
/** Key bytes kept to name the field; longer keys are cut (the field is for people to find it). */
const MAX_KEY_BYTES = 256;

/**
 * Tracks the nesting depth of the JSON messages in a request body fed chunk by chunk. `enveloped`
 * bodies (every protocol but Connect unary) frame each message with 5 bytes (flags, big-endian
 * length), which are skipped; a compressed message cannot be scanned and is left to the parser's
 * own limits. The top-level key being read is remembered, so the refusal names that field.
 */
export class JsonDepthGuard {
  readonly #enveloped: boolean;
  #depth = 0;
  #inString = false;
  #escaped = false;
  #expectKey = false;
  #readingKey = false;
  #key: number[] = [];
  #topKey = "";
  /** Envelope state: header bytes still to read, its bytes so far, and message bytes left. */
  #headerLeft = 5;
  #header: number[] = [];
  #messageLeft = 0;
  #skipMessage = false;

  constructor(enveloped: boolean) {
    this.#enveloped = enveloped;
  }

  /** Scans `chunk`; throws INVALID_ARGUMENT (a ConnectError, as it ends connect-es's read) when too deep. */
  feed(chunk: Uint8Array): void {
    for (const byte of chunk) {
      if (this.#enveloped && !this.#inMessage(byte)) continue;
      this.#scan(byte);
    }
  }

  /** Consumes envelope framing; true when `byte` belongs to a message to scan. */
  #inMessage(byte: number): boolean {
    if (this.#messageLeft === 0) {
      this.#header.push(byte);
      if (--this.#headerLeft > 0) return false;
      const [flags = 0, a = 0, b = 0, c = 0, d = 0] = this.#header;
      this.#messageLeft = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
      this.#skipMessage = (flags & 1) !== 0;
      this.#header = [];
      this.#headerLeft = 5;
      this.#depth = 0;
      return false;
    }
    this.#messageLeft--;
    return !this.#skipMessage;
  }

  #scan(byte: number): void {
    if (this.#inString) {
      if (this.#escaped) this.#escaped = false;
      else if (byte === BACKSLASH) this.#escaped = true;
      else if (byte === QUOTE) {
        this.#inString = false;
        if (this.#readingKey) this.#topKey = Buffer.from(this.#key).toString("utf8");
        this.#readingKey = false;
        return;
      }
      if (this.#readingKey && this.#key.length < MAX_KEY_BYTES) this.#key.push(byte);
      return;
    }
    if (byte === QUOTE) {
      this.#inString = true;
      this.#readingKey = this.#depth === 1 && this.#expectKey;
      this.#expectKey = false;
      if (this.#readingKey) this.#key = [];
    } else if (OPEN.has(byte)) {
      if (++this.#depth > MAX_JSON_DEPTH) throw this.#tooDeep();
      this.#expectKey = this.#depth === 1 && byte === 0x7b;
    } else if (CLOSE.has(byte)) {
      this.#depth--;
    } else if (byte === COMMA && this.#depth === 1) {
      this.#expectKey = true;
    }
  }

  #tooDeep(): ConnectError {
    const field = this.#topKey;
    const description = `JSON nests deeper than ${MAX_JSON_DEPTH} levels`;
    const details = field
      ? [{ desc: BadRequestSchema, value: { fieldViolations: [{ field, description }] } }]
      : [];
    return new ConnectError(
      field ? `${field}: ${description}` : description,
      Code.InvalidArgument,
      undefined,
      details,
    );
  }
}

/** Reads an agent's exec stream (NDJSON, one event per line) as events, pulling only as fast as they are taken. */
import { ErrorCode, FsbError, isErrorCode } from "@fast-sandbox/api";

/** One event of a process's stream, in domain terms. */
export type ExecStreamEvent =
  | { type: "started"; processId: string; pid: number }
  | { type: "stdout" | "stderr"; data: Uint8Array }
  | { type: "exited"; exitCode: number; signal: string; timedOut: boolean }
  | { type: "dropped"; bytes: number };

/**
 * Longest line accepted from an agent. An output line carries one chunk the agent read from the
 * process (tens of KiB, base64); anything this long is a broken agent, and holding it would let one
 * line grow the controller's memory without bound.
 */
export const MAX_EXEC_LINE_BYTES = 4 * 1024 * 1024;

const NEWLINE = 0x0a;

/**
 * The events of `body`, ending after `exited`. Reads the body only when the consumer asks for the
 * next event, so a slow client slows the read from the agent (and, through TCP, the agent's read
 * from the process) instead of filling the controller's memory. An `error` line, a line that is not
 * an event, or a stream that ends without `exited` is an FsbError; `agent` names the agent in it.
 * Ending the iteration early cancels the body.
 */
export async function* execEvents(
  body: ReadableStream<Uint8Array>,
  agent: string,
): AsyncGenerator<ExecStreamEvent> {
  const reader = body.getReader();
  try {
    for await (const line of lines(reader, agent)) {
      const event = parseLine(line, agent);
      yield event;
      if (event.type === "exited") return;
    }
    throw new FsbError(
      ErrorCode.Unavailable,
      `agent ${agent} ended the process stream before the process exited`,
    );
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Whole lines (without their newline) from the reader, holding at most one line at a time. */
async function* lines(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  agent: string,
): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for (;;) {
    let chunk: Uint8Array | undefined;
    try {
      const read = await reader.read();
      if (read.done) break;
      chunk = read.value;
    } catch (err) {
      throw new FsbError(ErrorCode.Unavailable, `agent ${agent} broke off the process stream`, {
        cause: err,
      });
    }
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      pending.push(chunk.subarray(start, nl));
      const line = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      if (line.length > 0) yield line;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_EXEC_LINE_BYTES) {
        throw new FsbError(
          ErrorCode.Unavailable,
          `agent ${agent} sent a process stream line over ${MAX_EXEC_LINE_BYTES} bytes`,
        );
      }
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}

interface WireLine {
  started?: { processId?: unknown; pid?: unknown };
  stdout?: unknown;
  stderr?: unknown;
  exit?: { exitCode?: unknown; signal?: unknown; timedOut?: unknown };
  dropped?: unknown;
  error?: { code?: unknown; message?: unknown; field?: unknown };
}

function parseLine(line: Uint8Array, agent: string): ExecStreamEvent {
  let wire: WireLine;
  try {
    wire = JSON.parse(
      Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString("utf8"),
    ) as WireLine;
  } catch (err) {
    throw notAnEvent(agent, err);
  }
  if (wire === null || typeof wire !== "object") throw notAnEvent(agent);
  if (typeof wire.stdout === "string") return { type: "stdout", data: Buffer.from(wire.stdout, "base64") };
  if (typeof wire.stderr === "string") return { type: "stderr", data: Buffer.from(wire.stderr, "base64") };
  if (wire.started && typeof wire.started.processId === "string" && typeof wire.started.pid === "number") {
    return { type: "started", processId: wire.started.processId, pid: wire.started.pid };
  }
  if (wire.exit && typeof wire.exit.exitCode === "number") {
    return {
      type: "exited",
      exitCode: wire.exit.exitCode,
      signal: typeof wire.exit.signal === "string" ? wire.exit.signal : "",
      timedOut: wire.exit.timedOut === true,
    };
  }
  if (typeof wire.dropped === "number") return { type: "dropped", bytes: wire.dropped };
  if (wire.error && typeof wire.error === "object") {
    const { code, message, field } = wire.error;
    return throwError(
      isErrorCode(code) ? code : ErrorCode.Unavailable,
      typeof message === "string" ? message : `agent ${agent} failed the process stream`,
      typeof field === "string" ? field : undefined,
    );
  }
  throw notAnEvent(agent);
}

function throwError(code: ErrorCode, message: string, field: string | undefined): never {
  throw new FsbError(code, message, field ? { field } : {});
}

function notAnEvent(agent: string, cause?: unknown): FsbError {
  return new FsbError(
    ErrorCode.Unavailable,
    `agent ${agent} sent a process stream line that is not an event`,
    {
      ...(cause ? { cause } : {}),
    },
  );
}

// Reading an agent's NDJSON process stream: events in order, errors as codes, and never ahead of the consumer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { type ExecStreamEvent, execEvents, MAX_EXEC_LINE_BYTES } from "./exec-events.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const ndjson = (...events: unknown[]) => events.map((e) => `${JSON.stringify(e)}\n`).join("");

/** A body that yields `chunks` one per pull and counts the pulls. */
function body(chunks: Array<string | Uint8Array>): {
  stream: ReadableStream<Uint8Array>;
  pulls: () => number;
} {
  let pulls = 0;
  let cancelled = false;
  const queue = chunks.map((c) => (typeof c === "string" ? Buffer.from(c) : c));
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        pulls++;
        const next = queue.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulls: () => (cancelled ? -pulls : pulls) };
}

async function all(stream: ReadableStream<Uint8Array>): Promise<ExecStreamEvent[]> {
  const out: ExecStreamEvent[] = [];
  for await (const e of execEvents(stream, "a1")) out.push(e);
  return out;
}

async function failure(stream: ReadableStream<Uint8Array>): Promise<FsbError> {
  try {
    await all(stream);
  } catch (err) {
    assert.ok(err instanceof FsbError, String(err));
    return err;
  }
  assert.fail("the stream did not fail");
}

describe("execEvents", () => {
  it("reads every kind of event, across chunk boundaries, and stops after exited", async () => {
    const text = ndjson(
      { started: { processId: "p1", pid: 7 } },
      { stdout: b64("out") },
      { stderr: b64("err") },
      { dropped: 5 },
      { exit: { exitCode: 137, signal: "SIGKILL", timedOut: true } },
    );
    const { stream } = body([text.slice(0, 10), text.slice(10, 50), `${text.slice(50)}{"stdout":"eA=="}\n`]);
    const events = await all(stream);
    assert.deepEqual(
      events.map((e) => ("data" in e ? { ...e, data: Buffer.from(e.data).toString() } : e)),
      [
        { type: "started", processId: "p1", pid: 7 },
        { type: "stdout", data: "out" },
        { type: "stderr", data: "err" },
        { type: "dropped", bytes: 5 },
        { type: "exited", exitCode: 137, signal: "SIGKILL", timedOut: true },
      ],
    );
  });

  const failures: Array<{
    name: string;
    chunks: string[];
    code: ErrorCode;
    message: RegExp;
    field?: string;
  }> = [
    {
      name: "an error line keeps its code and field",
      chunks: [
        ndjson(
          { started: { processId: "p1", pid: 1 } },
          { error: { code: "NOT_FOUND", message: "sandbox gone" } },
        ),
      ],
      code: ErrorCode.NotFound,
      message: /sandbox gone/,
    },
    {
      name: "an error line with an unknown code is UNAVAILABLE",
      chunks: [ndjson({ error: { code: "WHAT", message: "odd" } })],
      code: ErrorCode.Unavailable,
      message: /odd/,
    },
    {
      name: "a stream that ends before the exit",
      chunks: [ndjson({ started: { processId: "p1", pid: 1 } })],
      code: ErrorCode.Unavailable,
      message: /agent a1 ended the process stream before the process exited/,
    },
    {
      name: "a line that is not JSON",
      chunks: ["<html>\n"],
      code: ErrorCode.Unavailable,
      message: /not an event/,
    },
    {
      name: "a line that is no event",
      chunks: ['{"hello":1}\n'],
      code: ErrorCode.Unavailable,
      message: /not an event/,
    },
  ];
  for (const c of failures) {
    it(`fails: ${c.name}`, async () => {
      const err = await failure(body(c.chunks).stream);
      assert.equal(err.code, c.code);
      assert.match(err.message, c.message);
    });
  }

  it("refuses a line longer than the bound instead of holding it", async () => {
    const piece = "a".repeat(1024 * 1024);
    const chunks = Array.from({ length: MAX_EXEC_LINE_BYTES / piece.length + 2 }, () => piece);
    const { stream, pulls } = body(chunks);
    const err = await failure(stream);
    assert.equal(err.code, ErrorCode.Unavailable);
    assert.match(err.message, /over 4194304 bytes/);
    assert.ok(pulls() < 0, "the body was cancelled");
  });

  it("pulls from the agent only as the consumer takes events", async () => {
    const chunks = [ndjson({ started: { processId: "p1", pid: 1 } })];
    for (let i = 0; i < 100; i++) chunks.push(ndjson({ stdout: b64(`line ${i}\n`) }));
    const { stream, pulls } = body(chunks);
    const events = execEvents(stream, "a1");
    for (let i = 0; i < 11; i++) await events.next();
    // One pull per event taken (a line per chunk here), plus at most one read ahead.
    assert.ok(pulls() <= 12, `pulled ${pulls()} chunks for 11 events`);
    await events.return(undefined);
    assert.ok(pulls() < 0, "stopping early cancels the body");
  });
});

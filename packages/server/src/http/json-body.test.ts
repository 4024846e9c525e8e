// The size-limited JSON body reader: limits by declared length and by bytes read, empty and malformed bodies.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { BodyTooLargeError, readJsonBody } from "./json-body.ts";
import { errorStatus } from "./responses.ts";

/** A request body as a stream of chunks, with the headers a client declared. */
function request(chunks: string[], headers: Record<string, string> = {}) {
  return Object.assign(Readable.from(chunks.map((c) => Buffer.from(c))), { headers });
}

describe("readJsonBody", () => {
  it("parses a body that arrives in pieces", async () => {
    assert.deepEqual(await readJsonBody(request(['{"a":', "[1,2]", "}"]), 100), { a: [1, 2] });
  });

  it("accepts a body of exactly the limit", async () => {
    const body = JSON.stringify({ pad: "x".repeat(20) });
    assert.deepEqual(await readJsonBody(request([body]), Buffer.byteLength(body)), { pad: "x".repeat(20) });
  });

  const refusals: Array<{
    name: string;
    req: () => ReturnType<typeof request>;
    message: RegExp;
    status: number;
  }> = [
    {
      name: "a declared length over the limit, before reading",
      req: () => request(["{}"], { "content-length": "101" }),
      message: /request body exceeds 100 bytes/,
      status: 413,
    },
    {
      name: "a body that grows past the limit (no length declared)",
      req: () => request(["[", "1,".repeat(60), "1]"]),
      message: /request body exceeds 100 bytes/,
      status: 413,
    },
    {
      name: "a body longer than its declared length allows",
      req: () => request([`"${"x".repeat(120)}"`], { "content-length": "10" }),
      message: /request body exceeds 100 bytes/,
      status: 413,
    },
    { name: "an empty body", req: () => request([]), message: /body is empty; expected JSON/, status: 400 },
    { name: "a blank body", req: () => request([" \n\t"]), message: /body is empty/, status: 400 },
    { name: "malformed JSON", req: () => request(["{nope"]), message: /^malformed JSON: /, status: 400 },
    { name: "JSON cut short", req: () => request(['{"a":']), message: /^malformed JSON: /, status: 400 },
  ];
  for (const c of refusals) {
    it(`refuses ${c.name} as INVALID_ARGUMENT, HTTP ${c.status}`, async () => {
      const err = await readJsonBody(c.req(), 100).then(
        () => assert.fail("expected a refusal"),
        (e: unknown) => e,
      );
      assert.ok(isFsbError(err, ErrorCode.InvalidArgument), String(err));
      assert.match((err as Error).message, c.message);
      assert.equal(errorStatus(err), c.status);
      assert.equal(err instanceof BodyTooLargeError, c.status === 413);
    });
  }

  it("stops holding bytes at the limit: the rest of the body is not read into memory", async () => {
    let produced = 0;
    const endless = Object.assign(
      new Readable({
        read() {
          produced += 1024;
          this.push(Buffer.alloc(1024, 0x20));
        },
      }),
      { headers: {} },
    );
    await assert.rejects(readJsonBody(endless, 4096), BodyTooLargeError);
    assert.ok(produced < 64 * 1024, `read ${produced} bytes for a 4096-byte limit`);
    endless.destroy();
  });
});

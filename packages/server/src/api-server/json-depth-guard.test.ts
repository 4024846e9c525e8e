// The depth guard refuses deep JSON as it streams in, naming the top-level key, across chunks and envelopes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@fast-sandbox/api/gen/google/rpc/error_details_pb.ts";
import { JsonDepthGuard, MAX_JSON_DEPTH } from "./json-depth-guard.ts";

const nested = (n: number) => "[".repeat(n) + "]".repeat(n);
const envelope = (json: string, flags = 0) => {
  const body = Buffer.from(json);
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
};

function feedAll(guard: JsonDepthGuard, bytes: Uint8Array, chunkSize = 7): void {
  for (let i = 0; i < bytes.length; i += chunkSize) guard.feed(bytes.subarray(i, i + chunkSize));
}

function refusedField(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConnectError);
    assert.equal(err.code, Code.InvalidArgument);
    return err.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field ?? "";
  }
  return undefined;
}

describe("JsonDepthGuard", () => {
  it("lets JSON at the limit through", () => {
    const json = `{"a":${nested(MAX_JSON_DEPTH - 1)}}`;
    assert.equal(
      refusedField(() => feedAll(new JsonDepthGuard(false), Buffer.from(json))),
      undefined,
    );
  });
  it("refuses one level more, naming the top-level key it is under", () => {
    const json = `{"name":"x","bogus":${nested(MAX_JSON_DEPTH)}}`;
    assert.equal(
      refusedField(() => feedAll(new JsonDepthGuard(false), Buffer.from(json))),
      "bogus",
    );
  });
  it("ignores brackets and quotes inside strings", () => {
    const json = JSON.stringify({ a: `${"[".repeat(500)}\\"{`, b: ["x"] });
    assert.equal(
      refusedField(() => feedAll(new JsonDepthGuard(false), Buffer.from(json))),
      undefined,
    );
  });
  it("refuses a deep top-level array without a field", () => {
    assert.equal(
      refusedField(() => feedAll(new JsonDepthGuard(false), Buffer.from(nested(1000)))),
      "",
    );
  });
  it("reads envelopes: their length bytes are not JSON, and each message starts at depth 0", () => {
    // 0x5b is '[': a length of 91 bytes must not count as nesting.
    const ok = `{"a":"${"x".repeat(91 - 8)}"}`;
    const bytes = Buffer.concat(Array.from({ length: 300 }, () => envelope(`[${ok}]`)));
    assert.equal(
      refusedField(() => feedAll(new JsonDepthGuard(true), bytes, 3)),
      undefined,
    );
    const deep = envelope(`{"labels":${nested(MAX_JSON_DEPTH + 1)}}`);
    assert.equal(
      refusedField(() => feedAll(new JsonDepthGuard(true), deep)),
      "labels",
    );
  });
  it("skips compressed envelopes", () => {
    const bytes = envelope(nested(MAX_JSON_DEPTH * 2), 1);
    assert.equal(
      refusedField(() => feedAll(new JsonDepthGuard(true), bytes)),
      undefined,
    );
  });
});

// FsbError keeps the field and the text apart; only `message` joins them, for people.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError, invalidArgument, toFsbError } from "./errors.ts";

describe("FsbError", () => {
  const cases: Array<{ name: string; err: FsbError; field?: string; raw: string; message: string }> = [
    {
      name: "with a field",
      err: new FsbError(ErrorCode.InvalidArgument, "must be 1-65535", { field: "exposedPorts[1]" }),
      field: "exposedPorts[1]",
      raw: "must be 1-65535",
      message: "exposedPorts[1]: must be 1-65535",
    },
    {
      name: "without a field",
      err: new FsbError(ErrorCode.Unavailable, "containerd: create task: shim died"),
      raw: "containerd: create task: shim died",
      message: "containerd: create task: shim died",
    },
    {
      name: "invalidArgument shorthand",
      err: invalidArgument("sandbox.image", "is required"),
      field: "sandbox.image",
      raw: "is required",
      message: "sandbox.image: is required",
    },
  ];
  for (const tc of cases) {
    it(`keeps field and raw message apart: ${tc.name}`, () => {
      assert.equal(tc.err.field, tc.field);
      assert.equal(tc.err.rawMessage, tc.raw);
      assert.equal(tc.err.message, tc.message);
      assert.equal(String(tc.err), `FsbError: ${tc.message}`);
    });
  }

  it("a re-wrap from field and rawMessage does not repeat the field", () => {
    const inner = invalidArgument("command", "is empty");
    const outer = new FsbError(inner.code, inner.rawMessage, {
      field: `sandbox.${inner.field}`,
      cause: inner,
    });
    assert.equal(outer.message, "sandbox.command: is empty");
    assert.equal(outer.rawMessage, "is empty");
  });

  it("toFsbError keeps a foreign error's text as the raw message, with no field", () => {
    const err = toFsbError(new Error("ports: 8080 in use"));
    assert.equal(err.code, ErrorCode.Internal);
    assert.equal(err.field, undefined);
    assert.equal(err.rawMessage, "ports: 8080 in use");
  });
});

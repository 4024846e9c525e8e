// Connect errors become typed SDK errors that keep the code, name the field and say what to do next.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  AlreadyExistsError,
  AuthError,
  CapacityError,
  FastSandboxError,
  InvalidArgumentError,
  NotFoundError,
  toSdkError,
  UnavailableError,
} from "./errors.ts";

const ENDPOINT = "http://127.0.0.1:9090";

describe("toSdkError", () => {
  const cases: Array<{ code: Code; type: typeof FastSandboxError; name: string; hint: RegExp }> = [
    { code: Code.NotFound, type: NotFoundError, name: "not_found", hint: /fsb-ctl list -A/ },
    { code: Code.AlreadyExists, type: AlreadyExistsError, name: "already_exists", hint: /another name/ },
    {
      code: Code.ResourceExhausted,
      type: CapacityError,
      name: "resource_exhausted",
      hint: /cannot grow in time.*poolMax/,
    },
    { code: Code.Unauthenticated, type: AuthError, name: "unauthenticated", hint: /FSB_TOKEN/ },
    {
      code: Code.InvalidArgument,
      type: InvalidArgumentError,
      name: "invalid_argument",
      hint: /fix the request/,
    },
    { code: Code.Unavailable, type: UnavailableError, name: "unavailable", hint: /retry/ },
  ];
  for (const tc of cases) {
    it(`maps ${tc.name}`, () => {
      const err = toSdkError(new ConnectError("boom", tc.code), ENDPOINT);
      assert.ok(err instanceof tc.type);
      assert.ok(err instanceof FastSandboxError);
      assert.equal(err.code, tc.name);
      assert.equal(err.message, "boom");
      assert.match(err.hint ?? "", tc.hint);
    });
  }

  it("names the field of an invalid argument", () => {
    const err = toSdkError(
      new ConnectError("exposedPorts[1]: duplicate port", Code.InvalidArgument),
      ENDPOINT,
    );
    assert.equal(err.field, "exposedPorts[1]");
  });

  it("turns a refused connection into 'cannot reach' with a hint to start it", () => {
    const refused = new ConnectError(
      "fetch failed",
      Code.Unavailable,
      undefined,
      undefined,
      new Error("connect ECONNREFUSED 127.0.0.1:9090"),
    );
    const err = toSdkError(refused, ENDPOINT);
    assert.ok(err instanceof UnavailableError);
    assert.equal(err.message, "cannot reach Fast Sandbox at 127.0.0.1:9090");
    assert.match(err.hint ?? "", /is it running\? \(`npm start`\)/);
  });
});

// Connect errors become typed SDK errors that keep the code, name the field and say what to do next.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorFromJson, errorToJson } from "@connectrpc/connect/protocol-connect";
import { BadRequestSchema } from "@fast-sandbox/api/gen/google/rpc/error_details_pb.ts";
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
      fromWire(fieldError("exposedPorts[1]: duplicate port", "exposedPorts[1]", "duplicate port")),
      ENDPOINT,
    );
    assert.equal(err.field, "exposedPorts[1]");
    assert.equal(err.message, "exposedPorts[1]: duplicate port");
    assert.equal(err.rawMessage, "duplicate port");
  });

  it("does not mistake a containerd: message for a field", () => {
    const err = toSdkError(
      fromWire(new ConnectError("containerd: create task sb-1: shim exited", Code.FailedPrecondition)),
      ENDPOINT,
    );
    assert.equal(err.field, undefined);
    assert.equal(err.message, "containerd: create task sb-1: shim exited");
    assert.equal(err.rawMessage, "containerd: create task sb-1: shim exited");
  });

  it("reads the field only from the detail, never from the text", () => {
    const err = toSdkError(
      new ConnectError("exposedPorts[1]: duplicate port", Code.InvalidArgument),
      ENDPOINT,
    );
    assert.equal(err.field, undefined);
    assert.equal(err.message, "exposedPorts[1]: duplicate port");
  });

  it("keeps the field of a FAILED_PRECONDITION", () => {
    const err = toSdkError(
      fromWire(fieldError("image: cannot pull", "image", "cannot pull", Code.FailedPrecondition)),
      ENDPOINT,
    );
    assert.equal(err.code, "failed_precondition");
    assert.equal(err.field, "image");
    assert.equal(err.message, "image: cannot pull");
  });

  it("hints at what a FAILED_PRECONDITION needs by its field, never at capacity", () => {
    const cases: Array<[string, RegExp]> = [
      ["poolRef", /own namespace.*fsb-ctl pools list -A/],
      ["image", /do not pull images/],
      ["exposedPorts", /runtimeType container/],
      ["exposedPorts[0]", /listens on that port/],
    ];
    for (const [field, hint] of cases) {
      const err = toSdkError(
        fromWire(fieldError(`${field}: x`, field, "x", Code.FailedPrecondition)),
        ENDPOINT,
      );
      assert.ok(!(err instanceof CapacityError));
      assert.match(err.hint ?? "", hint, field);
      assert.doesNotMatch(err.hint ?? "", /poolMax|delete sandboxes/, field);
    }
    assert.equal(toSdkError(new ConnectError("x", Code.FailedPrecondition), ENDPOINT).hint, undefined);
  });

  it("reads PERMISSION_DENIED of a file as the sandbox's refusal, not as a token problem", () => {
    const file = toSdkError(
      new ConnectError("mkdir /proc/sys/x: read-only file system", Code.PermissionDenied),
      ENDPOINT,
      "file",
    );
    assert.ok(!(file instanceof AuthError));
    assert.equal(file.code, "permission_denied");
    assert.match(file.hint ?? "", /read-only file system/);
    assert.ok(toSdkError(new ConnectError("no", Code.PermissionDenied), ENDPOINT) instanceof AuthError);
  });

  it("spells canceled as the server does: cancelled", () => {
    assert.equal(toSdkError(new ConnectError("stop", Code.Canceled), ENDPOINT).code, "cancelled");
  });

  it("gives every Connect code a name of the closed set", () => {
    const names = new Set<string>();
    for (const code of Object.values(Code).filter((c): c is Code => typeof c === "number")) {
      names.add(toSdkError(new ConnectError("x", code), ENDPOINT).code);
    }
    assert.equal(names.size, 16);
    assert.ok(!names.has("canceled"));
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

/** An error as the server sends one that names a field: the text for people, the field as a detail. */
function fieldError(
  message: string,
  field: string,
  description: string,
  code = Code.InvalidArgument,
): ConnectError {
  return new ConnectError(message, code, undefined, [
    { desc: BadRequestSchema, value: { fieldViolations: [{ field, description }] } },
  ]);
}

/** The error after a trip through the Connect JSON error body, as a client receives it. */
function fromWire(err: ConnectError): ConnectError {
  return errorFromJson(errorToJson(err, undefined), undefined, new ConnectError("unparsable"));
}

/** Table test of the FsbError → Connect code mapping and of toConnectError's fallbacks. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorFromJson, errorToJson } from "@connectrpc/connect/protocol-connect";
import { ErrorCode, FsbError, invalidArgument } from "@fast-sandbox/api";
import { BadRequestSchema } from "@fast-sandbox/api/gen/google/rpc/error_details_pb.ts";
import { connectCodeFor, type InternalErrorLogger, toConnectError } from "./error-codes.ts";

const table: Array<[ErrorCode, Code]> = [
  [ErrorCode.Cancelled, Code.Canceled],
  [ErrorCode.InvalidArgument, Code.InvalidArgument],
  [ErrorCode.DeadlineExceeded, Code.DeadlineExceeded],
  [ErrorCode.NotFound, Code.NotFound],
  [ErrorCode.AlreadyExists, Code.AlreadyExists],
  [ErrorCode.PermissionDenied, Code.PermissionDenied],
  [ErrorCode.ResourceExhausted, Code.ResourceExhausted],
  [ErrorCode.FailedPrecondition, Code.FailedPrecondition],
  [ErrorCode.Aborted, Code.Aborted],
  [ErrorCode.OutOfRange, Code.OutOfRange],
  [ErrorCode.Unimplemented, Code.Unimplemented],
  [ErrorCode.Internal, Code.Internal],
  [ErrorCode.Unavailable, Code.Unavailable],
  [ErrorCode.Unauthenticated, Code.Unauthenticated],
];

function recordingLogger(): { log: InternalErrorLogger; calls: Array<{ err: unknown; ref: string }> } {
  const calls: Array<{ err: unknown; ref: string }> = [];
  return { calls, log: (err, context) => calls.push({ err, ref: context.ref }) };
}

describe("connectCodeFor", () => {
  it("covers every ErrorCode", () => {
    assert.deepEqual(new Set(table.map(([code]) => code)), new Set(Object.values(ErrorCode)));
  });

  for (const [fsbCode, connectCode] of table) {
    it(`${fsbCode} → ${Code[connectCode]}`, () => {
      assert.equal(connectCodeFor(fsbCode), connectCode);
    });
  }
});

describe("toConnectError", () => {
  for (const [fsbCode, connectCode] of table.filter(([code]) => code !== ErrorCode.Internal)) {
    it(`keeps the message of ${fsbCode}`, () => {
      const { log, calls } = recordingLogger();
      const err = toConnectError(new FsbError(fsbCode, "something precise"), { procedure: "/p", log });
      assert.equal(err.code, connectCode);
      assert.equal(err.rawMessage, "something precise");
      assert.equal(calls.length, 0);
    });
  }

  it("keeps the field name in an INVALID_ARGUMENT message", () => {
    const { log } = recordingLogger();
    const err = toConnectError(invalidArgument("exposedPorts[1]", "must be 1-65535"), {
      procedure: "/p",
      log,
    });
    assert.equal(err.code, Code.InvalidArgument);
    assert.equal(err.rawMessage, "exposedPorts[1]: must be 1-65535");
  });

  it("sends the field as a google.rpc.BadRequest detail that survives the wire", () => {
    const { log } = recordingLogger();
    const sent = toConnectError(invalidArgument("exposedPorts[1]", "must be 1-65535"), {
      procedure: "/p",
      log,
    });
    const received = errorFromJson(errorToJson(sent, undefined), undefined, new ConnectError("unparsable"));
    assert.equal(received.code, Code.InvalidArgument);
    assert.equal(received.rawMessage, "exposedPorts[1]: must be 1-65535");
    assert.deepEqual(
      received
        .findDetails(BadRequestSchema)
        .map((d) => d.fieldViolations.map((v) => [v.field, v.description])),
      [[["exposedPorts[1]", "must be 1-65535"]]],
    );
  });

  it("sends the field of a FAILED_PRECONDITION too, and no detail without a field", () => {
    const { log } = recordingLogger();
    const withField = toConnectError(
      new FsbError(ErrorCode.FailedPrecondition, "cannot pull", { field: "image" }),
      { procedure: "/p", log },
    );
    assert.equal(withField.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field, "image");
    const without = toConnectError(new FsbError(ErrorCode.Unavailable, "containerd: create task: boom"), {
      procedure: "/p",
      log,
    });
    assert.deepEqual(without.findDetails(BadRequestSchema), []);
  });

  it("hides unknown errors behind a generic INTERNAL and logs them with a reference", () => {
    const { log, calls } = recordingLogger();
    const cause = new Error("ENOENT: /var/lib/secret/path");
    const err = toConnectError(cause, { procedure: "/svc/Method", log });
    assert.equal(err.code, Code.Internal);
    assert.doesNotMatch(err.rawMessage, /secret/);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.err, cause);
    assert.match(err.rawMessage, new RegExp(`ref ${calls[0]!.ref}`));
  });

  it("treats FsbError INTERNAL like an unknown error", () => {
    const { log, calls } = recordingLogger();
    const err = toConnectError(new FsbError(ErrorCode.Internal, "sqlite: disk I/O error"), {
      procedure: "/p",
      log,
    });
    assert.equal(err.code, Code.Internal);
    assert.doesNotMatch(err.rawMessage, /sqlite/);
    assert.equal(calls.length, 1);
  });

  it("passes ConnectErrors through", () => {
    const { log } = recordingLogger();
    const original = new ConnectError("nope", Code.PermissionDenied);
    assert.equal(toConnectError(original, { procedure: "/p", log }), original);
  });

  it("reports the abort reason once the call's signal aborted", () => {
    const { log, calls } = recordingLogger();
    const controller = new AbortController();
    controller.abort(new ConnectError("server is shutting down", Code.Unavailable));
    const err = toConnectError(new Error("read interrupted"), {
      procedure: "/p",
      log,
      signal: controller.signal,
    });
    assert.equal(err.code, Code.Unavailable);
    assert.equal(calls.length, 0);
  });

  it("survives a throwing logger", () => {
    const err = toConnectError("a string", {
      procedure: "/p",
      log: () => {
        throw new Error("logger down");
      },
    });
    assert.equal(err.code, Code.Internal);
  });
});

// containerd failures become FsbError codes: a missing socket is UNAVAILABLE, gRPC codes map across.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorCode } from "@fast-sandbox/api";
import { ContainerdConnection } from "./connection.ts";
import { fromContainerdError } from "./errors.ts";

describe("fromContainerdError", () => {
  it("reports a containerd that is not there as UNAVAILABLE", async () => {
    const conn = new ContainerdConnection({ socketPath: "/nonexistent/containerd.sock", namespace: "x" });
    try {
      const err = await conn.version.version({}).then(
        () => undefined,
        (e: unknown) => e,
      );
      const translated = fromContainerdError(err, "get version");
      assert.equal(translated.code, ErrorCode.Unavailable);
      assert.match(translated.message, /containerd: get version: socket unreachable \(ENOENT\)/);
      assert.equal(translated.cause, err);
    } finally {
      conn.close();
    }
  });

  const cases: Array<{ code: Code; want: ErrorCode }> = [
    { code: Code.NotFound, want: ErrorCode.NotFound },
    { code: Code.AlreadyExists, want: ErrorCode.AlreadyExists },
    { code: Code.FailedPrecondition, want: ErrorCode.FailedPrecondition },
    { code: Code.Unavailable, want: ErrorCode.Unavailable },
    { code: Code.Unknown, want: ErrorCode.Internal },
    { code: Code.DataLoss, want: ErrorCode.Internal },
  ];
  for (const tc of cases) {
    it(`maps ${Code[tc.code]} to ${tc.want} and keeps the message`, () => {
      const err = fromContainerdError(new ConnectError("boom", tc.code), "act");
      assert.equal(err.code, tc.want);
      assert.equal(err.message, "containerd: act: boom");
    });
  }
});

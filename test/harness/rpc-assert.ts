/** Assertions on Fast-Path RPC failures: the gRPC code, and optionally the message. */
import assert from "node:assert/strict";
import { type Code, ConnectError } from "@connectrpc/connect";

/** Asserts that `promise` fails with a ConnectError of `code` whose raw message matches `pattern`. */
export async function rejectsWith(promise: Promise<unknown>, code: Code, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ConnectError, String(err));
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.rawMessage, pattern);
    return true;
  });
}

// Kubernetes API failures (HTTP statuses, Status bodies, watch errors, network errors) as FsbError codes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { ApiException } from "@kubernetes/client-node";
import { isTooLargeResourceVersion, kubeError, kubeStatusError } from "./kube-errors.ts";

/** What client-node throws for a non-2xx answer: the body is the response text. */
function apiException(code: number, reason: string, message: string): ApiException<unknown> {
  const body = JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message });
  return new ApiException(code, "Unknown API Status Code!", body, { "content-type": "application/json" });
}

function networkError(code: string): Error {
  return new TypeError("fetch failed", { cause: Object.assign(new Error(`connect ${code}`), { code }) });
}

describe("kubeError", () => {
  const cases: Array<{ name: string; err: unknown; code: ErrorCode; message?: RegExp }> = [
    {
      name: "404 NotFound",
      err: apiException(404, "NotFound", 'sandboxes.sandbox.fast.io "a" not found'),
      code: ErrorCode.NotFound,
      message: /^get Sandbox ns\/a: sandboxes.sandbox.fast.io "a" not found$/,
    },
    {
      name: "409 AlreadyExists",
      err: apiException(409, "AlreadyExists", "already exists"),
      code: ErrorCode.AlreadyExists,
    },
    {
      name: "409 Conflict (stale resourceVersion)",
      err: apiException(409, "Conflict", "the object has been modified"),
      code: ErrorCode.Aborted,
      message: /^conflict: .*the object has been modified; re-read and retry$/,
    },
    {
      name: "410 Gone",
      err: apiException(410, "Expired", "too old resource version"),
      code: ErrorCode.OutOfRange,
    },
    {
      name: "422 Invalid",
      err: apiException(422, "Invalid", "metadata.name: Invalid"),
      code: ErrorCode.InvalidArgument,
    },
    {
      name: "400 BadRequest",
      err: apiException(400, "BadRequest", "bad selector"),
      code: ErrorCode.InvalidArgument,
    },
    {
      name: "401 without a body",
      err: new ApiException(401, "Unauthorized", undefined, {}),
      code: ErrorCode.Unauthenticated,
      message: /HTTP 401/,
    },
    { name: "403 Forbidden", err: apiException(403, "Forbidden", "no"), code: ErrorCode.PermissionDenied },
    {
      name: "429 TooManyRequests",
      err: apiException(429, "TooManyRequests", "slow down"),
      code: ErrorCode.Unavailable,
    },
    {
      name: "500 InternalError",
      err: apiException(500, "InternalError", "etcd"),
      code: ErrorCode.Unavailable,
    },
    {
      name: "503 ServiceUnavailable",
      err: apiException(503, "ServiceUnavailable", "x"),
      code: ErrorCode.Unavailable,
    },
    {
      name: "a non-JSON error body",
      err: new ApiException(502, "Unknown API Status Code!", "<html>bad gateway</html>", {}),
      code: ErrorCode.Unavailable,
      message: /bad gateway/,
    },
    { name: "an unexpected status", err: apiException(418, "Teapot", "no"), code: ErrorCode.Internal },
    {
      name: "a watch that failed with HTTP 410",
      err: Object.assign(new Error("Gone"), { statusCode: 410 }),
      code: ErrorCode.OutOfRange,
    },
    { name: "connection refused", err: networkError("ECONNREFUSED"), code: ErrorCode.Unavailable },
    { name: "an undici socket error", err: networkError("UND_ERR_SOCKET"), code: ErrorCode.Unavailable },
    {
      name: "a bad certificate",
      err: networkError("DEPTH_ZERO_SELF_SIGNED_CERT"),
      code: ErrorCode.Unavailable,
    },
    {
      name: "a request timeout",
      err: new DOMException("The operation was aborted due to timeout", "TimeoutError"),
      code: ErrorCode.Unavailable,
    },
    { name: "anything else", err: new Error("boom"), code: ErrorCode.Internal },
  ];
  for (const c of cases) {
    it(`maps ${c.name} to ${c.code}`, () => {
      const got = kubeError(c.err, "get Sandbox ns/a");
      assert.equal(got.code, c.code, got.message);
      assert.equal(got.cause, c.err);
      if (c.message) assert.match(got.message, c.message);
    });
  }

  it("passes FsbErrors through", () => {
    const err = new FsbError(ErrorCode.NotFound, "x");
    assert.equal(kubeError(err, "get"), err);
  });
});

describe("kubeStatusError", () => {
  it("maps a watch ERROR event's 410 Status to OUT_OF_RANGE", () => {
    const err = kubeStatusError(
      { kind: "Status", code: 410, reason: "Expired", message: "too old" },
      "watch Sandbox",
    );
    assert.equal(err.code, ErrorCode.OutOfRange);
    assert.match(err.message, /^watch Sandbox: too old; re-list and watch again$/);
  });

  it("maps a Status without a code to INTERNAL", () => {
    assert.equal(kubeStatusError({ message: "?" }, "watch").code, ErrorCode.Internal);
  });

  const tooLarge: Array<[string, object, boolean]> = [
    [
      "a ResourceVersionTooLarge cause",
      { code: 504, details: { causes: [{ reason: "ResourceVersionTooLarge" }] } },
      true,
    ],
    ["the message", { code: 504, message: "Too large resource version: 12, current: 10" }, true],
    ["a plain timeout", { code: 504, message: "request timed out" }, false],
  ];
  for (const [what, status, want] of tooLarge) {
    it(`isTooLargeResourceVersion by ${what}: ${want}`, () =>
      assert.equal(isTooLargeResourceVersion(status), want));
  }
});

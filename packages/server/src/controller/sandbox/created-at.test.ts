// createdAt and startedAt on the controller's clock, in order, whatever clock stamped the object.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CREATED_AT_ANNOTATION, type Sandbox } from "@fast-sandbox/api";
import { createdAtAnnotations, createdAtOf, startTime } from "./created-at.ts";
import { sandboxFixture } from "./sandbox-fixture.ts";

const T = Date.parse("2026-11-22T12:00:00.250Z");

function sandbox(creationTimestamp: string, annotations: Record<string, string> = {}): Sandbox {
  return sandboxFixture({ metadata: { creationTimestamp, annotations } });
}

describe("createdAtOf", () => {
  it("is the controller's stamp, not the store's later write (a fast create stores after the start)", () => {
    const s = sandbox(new Date(T + 200).toISOString(), createdAtAnnotations(T));
    assert.equal(createdAtOf(s), T);
  });

  it("is the store's creationTimestamp for an object the controller did not create", () => {
    assert.equal(createdAtOf(sandbox("2026-11-22T12:00:00Z")), Date.parse("2026-11-22T12:00:00Z"));
  });

  it("ignores a stamp that is not a time", () => {
    const s = sandbox("2026-11-22T12:00:00Z", { [CREATED_AT_ANNOTATION]: "yesterday" });
    assert.equal(createdAtOf(s), Date.parse("2026-11-22T12:00:00Z"));
  });
});

describe("startTime", () => {
  it("is now when the sandbox was created before", () => {
    assert.equal(startTime(sandbox("x", createdAtAnnotations(T)), T + 5), T + 5);
  });

  it("is never before the creation, even when that came from a clock ahead of the controller's", () => {
    // An API server 2 s ahead stamped creationTimestamp; the start on the controller's clock is earlier.
    const s = sandbox(new Date(T + 2000).toISOString());
    assert.equal(startTime(s, T), T + 2000);
  });
});

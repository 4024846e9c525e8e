// setCondition keeps the transition time while a condition's status holds, and moves it on a flip.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setCondition } from "./conditions.ts";

const t0 = new Date("2026-01-01T00:00:00Z");
const t1 = new Date("2026-01-01T00:01:00Z");

describe("setCondition", () => {
  it("adds a condition with the current time", () => {
    const out = setCondition([], { type: "Ready", status: "True", reason: "Started", message: "" }, t0);
    assert.deepEqual(out, [
      { type: "Ready", status: "True", reason: "Started", message: "", lastTransitionTime: t0.toISOString() },
    ]);
  });
  it("keeps the transition time when only the reason changes", () => {
    const first = setCondition([], { type: "Ready", status: "False", reason: "A", message: "" }, t0);
    const second = setCondition(first, { type: "Ready", status: "False", reason: "B", message: "m" }, t1);
    assert.equal(second[0]?.lastTransitionTime, t0.toISOString());
    assert.equal(second[0]?.reason, "B");
  });
  it("moves the transition time on a status flip and leaves other conditions alone", () => {
    const start = setCondition(
      setCondition([], { type: "Scheduled", status: "True", reason: "Allocated", message: "" }, t0),
      { type: "Ready", status: "False", reason: "A", message: "" },
      t0,
    );
    const out = setCondition(start, { type: "Ready", status: "True", reason: "Started", message: "" }, t1);
    assert.equal(out.length, 2);
    assert.equal(out[0]?.lastTransitionTime, t0.toISOString());
    assert.equal(out[1]?.lastTransitionTime, t1.toISOString());
  });
});

// LaunchExpectations: creates pending until the cache shows the Pod, deletes until it shows it gone, both bounded.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LaunchExpectations } from "./expectations.ts";

const pool = { namespace: "ns", name: "p" };
const other = { namespace: "ns", name: "q" };
const T = 1_000;

type Step = (e: LaunchExpectations) => void;
const cases: Array<{ name: string; steps: Step[]; at: number; want: Array<[string, "create" | "delete"]> }> =
  [
    {
      name: "a create is pending until the Pod is seen",
      steps: [(e) => e.expectCreate(pool, "a", T)],
      at: T + 1,
      want: [["a", "create"]],
    },
    {
      name: "seeing the Pod fulfils the create",
      steps: [(e) => e.expectCreate(pool, "a", T), (e) => e.observedPresent("a")],
      at: T + 1,
      want: [],
    },
    {
      name: "a delete stays pending while the Pod is still seen (terminating)",
      steps: [(e) => e.expectDelete(pool, "a", T), (e) => e.observedPresent("a")],
      at: T + 1,
      want: [["a", "delete"]],
    },
    {
      name: "seeing the Pod gone fulfils the delete",
      steps: [(e) => e.expectDelete(pool, "a", T), (e) => e.observedGone("a")],
      at: T + 1,
      want: [],
    },
    {
      name: "a delete replaces a create the cache never saw",
      steps: [(e) => e.expectCreate(pool, "a", T), (e) => e.expectDelete(pool, "a", T + 5)],
      at: T + 6,
      want: [["a", "delete"]],
    },
    {
      name: "expectations time out",
      steps: [(e) => e.expectCreate(pool, "a", T), (e) => e.expectDelete(pool, "b", T + 50)],
      at: T + 100,
      want: [["b", "delete"]],
    },
    {
      name: "a failed request is forgotten",
      steps: [(e) => e.expectCreate(pool, "a", T), (e) => e.forget("a")],
      at: T + 1,
      want: [],
    },
    {
      name: "pools are separate",
      steps: [(e) => e.expectCreate(pool, "a", T), (e) => e.expectCreate(other, "b", T)],
      at: T + 1,
      want: [["a", "create"]],
    },
  ];

describe("LaunchExpectations", () => {
  for (const c of cases) {
    it(c.name, () => {
      const e = new LaunchExpectations(100);
      for (const step of c.steps) step(e);
      assert.deepEqual(
        e.forPool(pool, c.at).map((x) => [x.agentId, x.kind]),
        c.want,
      );
    });
  }

  it("has() and get() honour the timeout and keep the request time", () => {
    const e = new LaunchExpectations(100);
    e.expectCreate(pool, "a", T);
    assert.equal(e.has("a", T + 99), true);
    assert.equal(e.get("a", T + 99)?.at, T);
    assert.equal(e.has("a", T + 100), false);
    assert.equal(e.get("a", T), undefined, "a timed-out expectation is gone for good");
  });
});

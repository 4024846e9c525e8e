// mapLimit: order kept, at most N in flight, the first failure stops new work.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mapLimit } from "./map-limit.ts";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("mapLimit", () => {
  it("keeps the input order whatever order the calls finish in", async () => {
    const out = await mapLimit([30, 10, 20], 3, async (n) => {
      for (let i = 0; i < n; i++) await tick();
      return n * 2;
    });
    assert.deepEqual(out, [60, 20, 40]);
  });

  it("never has more than the limit in flight", async () => {
    let inFlight = 0;
    let most = 0;
    await mapLimit([...Array(20).keys()], 4, async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await tick();
      inFlight -= 1;
    });
    assert.equal(most, 4);
  });

  it("rejects with the first failure and starts nothing after it", async () => {
    const started: number[] = [];
    await assert.rejects(
      mapLimit([0, 1, 2, 3, 4, 5], 2, async (n) => {
        started.push(n);
        // 1 fails while 0 is still at work, so neither worker may start another.
        if (n === 1) throw new Error("boom 1");
        for (let i = 0; i < 3; i++) await tick();
      }),
      /boom 1/,
    );
    assert.deepEqual(started, [0, 1]);
  });

  it("answers an empty list at once and refuses a limit below 1", async () => {
    assert.deepEqual(await mapLimit([], 3, async () => 1), []);
    await assert.rejects(
      mapLimit([1], 0, async () => 1),
      RangeError,
    );
  });
});

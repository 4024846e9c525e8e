// The loss rule: several failed probes in a row AND silence for the loss timeout; nothing less.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  freshLiveness,
  isLost,
  type Liveness,
  livenessAfter,
  MIN_FAILED_PROBES,
  type ProbeVerdict,
} from "./agent-liveness.ts";

const LOSS = 15_000;

/** Applies verdicts at the given times, starting from an answer at t=0. */
function replay(steps: Array<[number, ProbeVerdict]>): Liveness {
  return steps.reduce((state, [at, verdict]) => livenessAfter(state, verdict, at), freshLiveness(0));
}

describe("isLost", () => {
  const cases: Array<{ name: string; steps: Array<[number, ProbeVerdict]>; now: number; lost: boolean }> = [
    { name: "a fresh agent", steps: [], now: 60_000, lost: false },
    {
      name: "three failures, but within the loss timeout",
      steps: [
        [5000, "failed"],
        [10_000, "failed"],
        [14_000, "failed"],
      ],
      now: 14_000,
      lost: false,
    },
    {
      name: "three failures and the loss timeout passed",
      steps: [
        [5000, "failed"],
        [10_000, "failed"],
        [15_000, "failed"],
      ],
      now: 15_000,
      lost: true,
    },
    {
      name: "silent for a minute with only two failed probes (the rest inconclusive: controller stalled)",
      steps: [
        [5000, "failed"],
        [20_000, "inconclusive"],
        [40_000, "inconclusive"],
        [60_000, "failed"],
      ],
      now: 60_000,
      lost: false,
    },
    {
      name: "an answer in between resets the count",
      steps: [
        [5000, "failed"],
        [10_000, "failed"],
        [12_000, "answered"],
        [20_000, "failed"],
        [25_000, "failed"],
      ],
      now: 30_000,
      lost: false,
    },
    {
      name: "after an answer, three more failures and the timeout since that answer",
      steps: [
        [5000, "failed"],
        [12_000, "answered"],
        [17_000, "failed"],
        [22_000, "failed"],
        [27_000, "failed"],
      ],
      now: 27_000,
      lost: true,
    },
    {
      name: "refused at once many times (a dead process): still the loss timeout first",
      steps: Array.from({ length: 20 }, (_, i): [number, ProbeVerdict] => [(i + 1) * 500, "failed"]),
      now: 10_000,
      lost: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(isLost(replay(c.steps), c.now, LOSS), c.lost);
    });
  }

  it(`needs ${MIN_FAILED_PROBES} failures however long the silence`, () => {
    const two = replay([
      [100_000, "failed"],
      [200_000, "failed"],
    ]);
    assert.equal(isLost(two, 1_000_000, LOSS), false);
    assert.equal(isLost(livenessAfter(two, "failed", 300_000), 300_000, LOSS), true);
  });

  it("an answer older than the last one never moves lastAnswerAt back", () => {
    const state = livenessAfter(freshLiveness(10_000), "answered", 5000);
    assert.equal(state.lastAnswerAt, 10_000);
  });
});

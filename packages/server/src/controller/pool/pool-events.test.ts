// The events of one pool pass (pure): scaling up and down, and why each removed agent goes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { poolEvents } from "./pool-events.ts";
import type { ObservedAgent } from "./pool-plan.ts";

const agent = (id: string, over: Partial<ObservedAgent> = {}): ObservedAgent => ({
  id,
  launch: "running",
  launchedAt: 0,
  healthy: true,
  draining: false,
  capacity: 2,
  allocated: 0,
  ...over,
});
const plan = { launch: 0, undrain: [] as string[], drain: [] as string[], desired: 1 };

describe("poolEvents", () => {
  const cases = [
    { name: "nothing to do", pass: { agents: [], plan, removed: [] }, want: [] },
    {
      name: "a launch and an agent taken back",
      pass: { agents: [], plan: { ...plan, launch: 1, undrain: ["p-2"], desired: 3 }, removed: [] },
      want: ["Normal ScalingUp: Launching 1 agent; taking back draining p-2; want 3"],
    },
    {
      name: "a drain, and a removal of a drained agent and of a launch that never answered",
      pass: {
        agents: [agent("p-1", { draining: true }), agent("p-3", { launch: "starting", healthy: false })],
        plan: { ...plan, drain: ["p-2"] },
        removed: ["p-1", "p-3"],
      },
      want: [
        "Normal ScalingDown: Draining p-2; want 1",
        "Normal AgentRemoved: Agent p-1 drained and empty; removing it",
        "Warning LaunchTimedOut: Agent p-3 never answered; removing it",
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(
        poolEvents(c.pass).map((e) => `${e.type} ${e.reason}: ${e.note}`),
        c.want,
      );
    });
  }
});

// poolGrowth: a pool "grows" only when agents really are on their way.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type GrowthObservation, type PoolGrowth, poolGrowth } from "./pool-growth.ts";
import type { ObservedAgent } from "./pool-plan.ts";

const agent = (id: string, over: Partial<ObservedAgent> = {}): ObservedAgent => ({
  id,
  launch: "running",
  launchedAt: 0,
  healthy: true,
  draining: false,
  capacity: 2,
  allocated: 2,
  ...over,
});

const base: GrowthObservation = {
  managed: true,
  deleting: false,
  poolMax: 3,
  agents: [agent("a")],
  plan: { launch: 0, undrain: [] },
  agentsReturnUntil: 0,
  now: 1000,
};

describe("poolGrowth", () => {
  const cases: Array<{ name: string; o: Partial<GrowthObservation>; growth: PoolGrowth }> = [
    {
      name: "full, below poolMax, and the next pass launches one",
      o: { plan: { launch: 1, undrain: [] } },
      growth: { kind: "growing", starting: 0, launching: 1 },
    },
    {
      name: "an agent launched and not answering yet",
      o: { agents: [agent("a"), agent("b", { launch: "starting", healthy: false, allocated: 0 })] },
      growth: { kind: "growing", starting: 1, launching: 0 },
    },
    {
      name: "an agent up but not probed yet",
      o: { agents: [agent("a"), agent("b", { healthy: false, allocated: 0 })] },
      growth: { kind: "growing", starting: 1, launching: 0 },
    },
    {
      name: "an agent that answered once and went silent is lost, not starting",
      o: { agents: [agent("a"), agent("b", { healthy: false, lost: true, allocated: 0 })] },
      growth: { kind: "stable" },
    },
    {
      name: "a draining agent the next pass takes back",
      o: { plan: { launch: 0, undrain: ["b"] } },
      growth: { kind: "growing", starting: 0, launching: 1 },
    },
    {
      name: "below poolMax but nothing planned: not growing (the old answer was yes)",
      o: {},
      growth: { kind: "stable" },
    },
    {
      name: "at poolMax",
      o: { agents: [agent("a"), agent("b"), agent("c")] },
      growth: { kind: "atMax", poolMax: 3 },
    },
    {
      name: "a stopping agent does not count towards poolMax",
      o: { poolMax: 1, agents: [agent("a", { launch: "stopping" })] },
      growth: { kind: "stable" },
    },
    {
      name: "self-registered agents only (no launcher)",
      o: { managed: false, plan: { launch: 1, undrain: [] } },
      growth: { kind: "selfRegistered" },
    },
    {
      name: "self-registered agents only, right after the controller started: they may come back",
      o: { managed: false, agentsReturnUntil: 5000 },
      growth: { kind: "returning", until: 5000 },
    },
    {
      name: "self-registered agents only, once the return window passed",
      o: { managed: false, agentsReturnUntil: 1000 },
      growth: { kind: "selfRegistered" },
    },
    {
      name: "launched agents right after the start, with an agent not heard from yet: it may come back",
      o: { agentsReturnUntil: 5000 },
      growth: { kind: "returning", until: 5000 },
    },
    {
      name: "launched agents right after the start, with agents on their way: growing says more",
      o: { agentsReturnUntil: 5000, plan: { launch: 1, undrain: [] } },
      growth: { kind: "growing", starting: 0, launching: 1 },
    },
    {
      name: "being deleted",
      o: { deleting: true, plan: { launch: 1, undrain: [] } },
      growth: { kind: "absent" },
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(poolGrowth({ ...base, ...c.o }), c.growth));
  }
});

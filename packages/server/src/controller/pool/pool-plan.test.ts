import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type SandboxPoolSpec, validatePoolSpec } from "@fast-sandbox/api";
import { LAUNCH_TIMEOUT_MS, type ObservedAgent, type PoolObservation, planPool } from "./pool-plan.ts";

const NOW = 1_000_000_000;

function spec(capacity: Partial<SandboxPoolSpec["capacity"]>, perAgent = 5): SandboxPoolSpec {
  return validatePoolSpec({ capacity, maxSandboxesPerPod: perAgent });
}

function agent(id: string, allocated: number, extra: Partial<ObservedAgent> = {}): ObservedAgent {
  return {
    id,
    launch: "running",
    launchedAt: NOW - 10_000,
    healthy: true,
    draining: false,
    capacity: 5,
    allocated,
    ...extra,
  };
}

function observe(o: Partial<PoolObservation> & Pick<PoolObservation, "spec" | "agents">): PoolObservation {
  return { generation: 1, status: {}, pending: 0, deleting: false, now: NOW, ...o };
}

interface Case {
  name: string;
  in: PoolObservation;
  want: { launch?: number; drain?: string[]; undrain?: string[]; remove?: string[]; desired: number };
}

const cases: Case[] = [
  {
    name: "an empty pool launches up to poolMin",
    in: observe({ spec: spec({ poolMin: 2, poolMax: 4 }), agents: [] }),
    want: { launch: 2, desired: 2 },
  },
  {
    name: "agents still starting count, so nothing is launched twice",
    in: observe({
      spec: spec({ poolMin: 2, poolMax: 4 }),
      agents: [agent("a", 0, { launch: "starting", healthy: false }), agent("b", 0, { launch: "starting" })],
    }),
    want: { desired: 2 },
  },
  {
    name: "bufferMin keeps free slots: a full agent makes a second one",
    in: observe({ spec: spec({ poolMin: 1, poolMax: 4, bufferMin: 1 }), agents: [agent("a", 5)] }),
    want: { launch: 1, desired: 2 },
  },
  {
    name: "pending sandboxes scale up, up to poolMax",
    in: observe({ spec: spec({ poolMin: 1, poolMax: 3 }), agents: [agent("a", 5)], pending: 20 }),
    want: { launch: 2, desired: 3 },
  },
  {
    name: "a draining agent is brought back before anything is launched",
    in: observe({
      spec: spec({ poolMin: 1, poolMax: 4, bufferMin: 2 }),
      agents: [agent("a", 5), agent("b", 2, { draining: true })],
    }),
    want: { undrain: ["b"], desired: 2 },
  },
  {
    name: "idle capacity above bufferMax drains the emptiest agent, which goes at once",
    in: observe({
      spec: spec({ poolMin: 1, poolMax: 4, bufferMax: 5 }),
      agents: [agent("a", 2), agent("b", 0), agent("c", 1)],
    }),
    want: { drain: ["b", "c"], remove: ["b"], desired: 1 },
  },
  {
    name: "idle capacity within bufferMax keeps the agents",
    in: observe({
      spec: spec({ poolMin: 1, poolMax: 4, bufferMax: 10 }),
      agents: [agent("a", 2), agent("b", 0)],
    }),
    want: { desired: 1 },
  },
  {
    name: "a drained agent with sandboxes stays until they are gone",
    in: observe({
      spec: spec({ poolMin: 1, poolMax: 4 }),
      agents: [agent("a", 1), agent("b", 1, { draining: true })],
    }),
    want: { desired: 1 },
  },
  {
    name: "an empty drained agent is removed",
    in: observe({
      spec: spec({ poolMin: 1, poolMax: 4 }),
      agents: [agent("a", 1), agent("b", 0, { draining: true })],
    }),
    want: { remove: ["b"], desired: 1 },
  },
  {
    name: "draining never takes the pool below bufferMin free slots",
    in: observe({
      spec: spec({ poolMin: 1, poolMax: 4, bufferMin: 4, bufferMax: 4 }),
      agents: [agent("a", 1), agent("b", 1)],
    }),
    want: { desired: 2 },
  },
  {
    name: "above poolMax agents drain even within bufferMax",
    in: observe({
      spec: spec({ poolMin: 1, poolMax: 1, bufferMax: 100 }),
      agents: [agent("a", 1), agent("b", 3)],
    }),
    want: { drain: ["a"], desired: 1 },
  },
  {
    name: "a deleted pool drains every agent; empty ones go",
    in: observe({ spec: spec({ poolMin: 2 }), agents: [agent("a", 0), agent("b", 1)], deleting: true }),
    want: { drain: ["a", "b"], remove: ["a"], desired: 0 },
  },
  {
    name: "a launch that never answered is given up and replaced",
    in: observe({
      spec: spec({ poolMin: 1 }),
      agents: [
        agent("a", 0, { launch: "starting", healthy: false, launchedAt: NOW - LAUNCH_TIMEOUT_MS - 1 }),
      ],
    }),
    want: { remove: ["a"], launch: 1, desired: 1 },
  },
  {
    name: "self-registered agents do not stand in for launched ones",
    in: observe({
      spec: spec({ poolMin: 2, poolMax: 2 }),
      agents: [agent("a", 0), agent("b", 0), agent("ext", 0, { launch: undefined, launchedAt: undefined })],
    }),
    want: { desired: 2 },
  },
  {
    name: "self-registered agents serve but are never drained",
    in: observe({
      spec: spec({ poolMin: 0, poolMax: 4, bufferMax: 0 }),
      agents: [agent("ext", 0, { launch: undefined, launchedAt: undefined })],
    }),
    want: { desired: 0 },
  },
  {
    name: "stopping agents count for nothing",
    in: observe({ spec: spec({ poolMin: 1 }), agents: [agent("a", 0, { launch: "stopping" })] }),
    want: { launch: 1, desired: 1 },
  },
];

describe("planPool", () => {
  for (const c of cases) {
    test(c.name, () => {
      const plan = planPool(c.in);
      assert.deepEqual(
        {
          launch: plan.launch,
          drain: plan.drain,
          undrain: plan.undrain,
          remove: plan.remove,
          desired: plan.desired,
        },
        {
          launch: c.want.launch ?? 0,
          drain: c.want.drain ?? [],
          undrain: c.want.undrain ?? [],
          remove: c.want.remove ?? [],
          desired: c.want.desired,
        },
      );
    });
  }

  test("status counts agents and slots, and carries observedGeneration", () => {
    const plan = planPool(
      observe({
        spec: spec({ poolMin: 1, poolMax: 4 }),
        generation: 3,
        agents: [
          agent("a", 2),
          agent("b", 1, { draining: true }),
          agent("c", 0, { launch: "starting", healthy: false }),
        ],
      }),
    );
    assert.equal(plan.status.observedGeneration, 3);
    assert.equal(plan.status.currentAgents, 3);
    assert.equal(plan.status.readyAgents, 1);
    assert.equal(plan.status.totalSlots, 5);
    assert.equal(plan.status.allocatedSlots, 3);
    const ready = plan.status.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.status, "True");
    assert.equal(plan.status.conditions?.find((c) => c.type === "Scaling")?.reason, "ScalingUp");
  });

  test("an unchanged world returns the very same status object (no write)", () => {
    const o = observe({ spec: spec({ poolMin: 1, poolMax: 4 }), agents: [agent("a", 1)] });
    const first = planPool(o).status;
    const second = planPool({ ...o, status: first, now: NOW + 5000 });
    assert.equal(second.status, first);
  });

  test("demand beyond poolMax is reported", () => {
    const plan = planPool(
      observe({ spec: spec({ poolMin: 1, poolMax: 1 }), agents: [agent("a", 5)], pending: 3 }),
    );
    assert.equal(plan.status.conditions?.find((c) => c.type === "Scaling")?.reason, "AtMaximum");
  });
});

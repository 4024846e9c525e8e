// How pools read: the `pools list` table (plain, -A, wide), the `pools get` summary and agents, the -o object.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PoolDetails } from "@fast-sandbox/sdk";
import { stringify } from "yaml";
import { parseManifestDocuments } from "./manifest-documents.ts";
import { poolIsComingUp } from "./pool-readiness.ts";
import { toPoolResource } from "./pool-resource.ts";
import { formatSlotsLong, formatSlotsShort, type PoolSlots, poolSlots } from "./pool-slots.ts";
import { type PoolTableOptions, poolHeader, poolRow } from "./pool-table.ts";
import { agentsTable, poolSummary } from "./pool-view.ts";
import { createStyle } from "./style.ts";
import { formatTable } from "./table.ts";

const NOW = Date.parse("2026-05-01T12:10:00Z");
const plain = createStyle({ isTTY: false }, {});

function agent(): PoolDetails["agents"][number] {
  return {
    id: "small-pool-a1b2",
    node: "node-1",
    healthy: true,
    draining: false,
    capacity: 2,
    allocated: 1,
    prewarmReady: 0,
    launchState: "running",
  };
}

function pool(overrides: Partial<PoolDetails> = {}): PoolDetails {
  return {
    name: "small-pool",
    namespace: "default",
    uid: "u-1",
    spec: {
      capacity: { poolMin: 1, poolMax: 2, bufferMin: 0, bufferMax: 10 },
      maxSandboxesPerPod: 2,
      runtimeType: "container",
      prewarm: [],
      agentTemplate: undefined,
      network: { mode: "isolated", egress: undefined, allowSandboxOverride: false },
      seccompProfile: { type: "RuntimeDefault" },
    },
    status: {
      generation: 1,
      observedGeneration: 1,
      currentAgents: 1,
      readyAgents: 1,
      totalSlots: 2,
      allocatedSlots: 1,
      conditions: [
        { type: "Ready", status: "True", reason: "AgentsReady", message: "", lastTransitionTime: undefined },
      ],
    },
    agents: [agent()],
    labels: {},
    annotations: {},
    createdAt: new Date(NOW - 300_000),
    resourceVersion: "7",
    ...overrides,
  };
}

const DEFAULT_POOL = pool({
  name: "default-pool",
  spec: {
    capacity: { poolMin: 2, poolMax: 2, bufferMin: 0, bufferMax: 10 },
    maxSandboxesPerPod: 3,
    runtimeType: "gvisor",
    prewarm: [
      { image: "docker.io/library/busybox:latest", command: ["sleep"], args: [], env: [], count: 2 },
      { image: "alpine:3", command: [], args: [], env: [], count: 1 },
    ],
    agentTemplate: undefined,
    network: { mode: "isolated", egress: undefined, allowSandboxOverride: false },
    seccompProfile: { type: "RuntimeDefault" },
  },
  status: {
    generation: 1,
    observedGeneration: 1,
    currentAgents: 2,
    readyAgents: 2,
    totalSlots: 6,
    allocatedSlots: 0,
    conditions: [],
  },
  agents: ["a", "b"].map((suffix) => ({
    ...agent(),
    id: `default-pool-${suffix}`,
    capacity: 3,
    allocated: 0,
  })),
  createdAt: new Date(NOW - 3 * 86_400_000),
});

/**
 * A drain as the issue saw it: the pool shrank to one serving agent with a free slot, while two
 * sandboxes still run on the agent being drained. The status then says 2 allocated of 1 total.
 */
const DRAINING_POOL = pool({
  status: { ...pool().status, currentAgents: 2, readyAgents: 1, totalSlots: 1, allocatedSlots: 2 },
  spec: { ...pool().spec, maxSandboxesPerPod: 1 },
  agents: [
    { ...agent(), id: "small-pool-old", capacity: 2, allocated: 2, draining: true },
    { ...agent(), id: "small-pool-new", capacity: 1, allocated: 0 },
  ],
});

describe("pools list table", () => {
  const table = (o: Partial<PoolTableOptions>, pools: PoolDetails[]) => {
    const options = { wide: false, allNamespaces: false, style: plain, now: NOW, ...o };
    return formatTable([poolHeader(options), ...pools.map((p) => poolRow(p, options))]);
  };
  const cases: Array<{ name: string; options: Partial<PoolTableOptions>; want: string }> = [
    {
      name: "NAME MIN MAX AGENTS (ready/current) SLOTS (allocated/total) RUNTIME AGE",
      options: {},
      want: [
        "NAME          MIN  MAX  AGENTS  SLOTS  RUNTIME    AGE",
        "default-pool  2    2    2/2     0/6    gvisor     3d",
        "small-pool    1    2    1/1     1/2    container  5m",
        "",
      ].join("\n"),
    },
    {
      name: "NAMESPACE first with -A",
      options: { allNamespaces: true },
      want: [
        "NAMESPACE  NAME          MIN  MAX  AGENTS  SLOTS  RUNTIME    AGE",
        "default    default-pool  2    2    2/2     0/6    gvisor     3d",
        "default    small-pool    1    2    1/1     1/2    container  5m",
        "",
      ].join("\n"),
    },
    {
      name: "BUFFER, PER-AGENT and PREWARM with -o wide",
      options: { wide: true },
      want: [
        "NAME          MIN  MAX  AGENTS  SLOTS  RUNTIME    AGE  BUFFER  PER-AGENT  PREWARM",
        "default-pool  2    2    2/2     0/6    gvisor     3d   0-10    3          busybox:latest(2),alpine:3(1)",
        "small-pool    1    2    1/1     1/2    container  5m   0-10    2          -",
        "",
      ].join("\n"),
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => assert.equal(table(tc.options, [DEFAULT_POOL, pool()]), tc.want));
  }

  it("SLOTS stays true during a drain: allocated/total of serving agents, then the draining ones", () => {
    const options = { wide: false, allNamespaces: false, style: plain, now: NOW };
    assert.equal(
      formatTable([poolHeader(options), poolRow(DRAINING_POOL, options)]),
      [
        "NAME        MIN  MAX  AGENTS  SLOTS            RUNTIME    AGE",
        "small-pool  1    2    1/2     0/1 +2 draining  container  5m",
        "",
      ].join("\n"),
    );
  });

  it("colours AGENTS yellow while launched agents do not answer yet", () => {
    const style = createStyle({ isTTY: true }, {});
    const coming = pool({ status: { ...pool().status, currentAgents: 2, readyAgents: 1 } });
    const row = poolRow(coming, { wide: false, allNamespaces: false, style, now: NOW });
    assert.deepEqual(typeof row[3] === "object" && row[3].colour(row[3].text), "\x1b[33m1/2\x1b[39m");
  });
});

describe("pools get summary", () => {
  it("shows capacity, runtime, prewarm, readiness, conditions, then the agents", () => {
    const text = poolSummary(pool({ labels: { tier: "small" } }), plain, NOW);
    assert.equal(
      text,
      [
        "sandboxpool small-pool",
        "  namespace   default",
        "  agents      1 to 2, 2 sandboxes each",
        "  free slots  0 to 10 kept free",
        "  runtime     container",
        "  prewarm     none",
        "  ready       1 of 1 agents",
        "  slots       1 of 2 allocated",
        "  conditions  Ready=True (AgentsReady)",
        "  generation  1 (observed 1)",
        "  labels      tier=small",
        "  age         5m",
        "",
        "ID               NODE    HEALTHY  DRAINING  SLOTS  PREWARM",
        "small-pool-a1b2  node-1  yes      no        1/2    0",
        "",
      ].join("\n"),
    );
  });

  it("during a drain, never shows more allocated than there are slots", () => {
    assert.match(
      poolSummary(DRAINING_POOL, plain, NOW),
      /^ {2}slots {7}0 of 1 allocated, 2 more on draining agents$/m,
    );
  });

  it("says when a pool has no agents yet", () => {
    assert.equal(agentsTable([], plain), "No agents.\n");
  });

  it("marks an unhealthy or draining agent", () => {
    const agent = { ...pool().agents[0]!, healthy: false, draining: true, node: "" };
    assert.equal(
      agentsTable([agent], plain),
      "ID               NODE  HEALTHY  DRAINING  SLOTS  PREWARM\nsmall-pool-a1b2  -     no       yes       1/2    0\n",
    );
  });
});

describe("poolSlots", () => {
  const cases: Array<[string, PoolDetails["agents"], PoolSlots]> = [
    ["no agents", [], { allocated: 0, total: 0, onDraining: 0, onUnhealthy: 0 }],
    ["serving agents add up", [agent(), agent()], { allocated: 2, total: 4, onDraining: 0, onUnhealthy: 0 }],
    [
      "a draining agent's sandboxes stay apart from the total",
      [agent(), { ...agent(), draining: true, allocated: 2 }],
      { allocated: 1, total: 2, onDraining: 2, onUnhealthy: 0 },
    ],
    [
      "a stopping agent counts as draining",
      [{ ...agent(), launchState: "stopping" }],
      { allocated: 0, total: 0, onDraining: 1, onUnhealthy: 0 },
    ],
    [
      "an agent that does not answer",
      [{ ...agent(), healthy: false }],
      { allocated: 0, total: 0, onDraining: 0, onUnhealthy: 1 },
    ],
  ];
  for (const [name, agents, want] of cases) {
    it(name, () => {
      const slots = poolSlots({ agents });
      assert.deepEqual(slots, want);
      assert.ok(slots.allocated <= slots.total, "never more allocated than total");
    });
  }

  it("reads the rarer cases in both forms", () => {
    const slots = { allocated: 1, total: 2, onDraining: 2, onUnhealthy: 1 };
    assert.equal(formatSlotsShort(slots), "1/2 +2 draining +1 unhealthy");
    assert.equal(
      formatSlotsLong(slots),
      "1 of 2 allocated, 2 more on draining agents, 1 more on agents not answering",
    );
  });
});

describe("poolIsComingUp", () => {
  const status = pool().status;
  const cases: Array<[string, Partial<PoolDetails["status"]>, boolean]> = [
    ["settled: poolMin agents ready", {}, false],
    ["the controller has not seen the latest spec", { generation: 2, observedGeneration: 1 }, true],
    ["fewer ready agents than poolMin", { currentAgents: 0, readyAgents: 0 }, true],
    ["a launched agent that does not answer yet", { currentAgents: 2, readyAgents: 1 }, true],
  ];
  for (const [name, change, want] of cases) {
    it(`${want ? "is" : "is not"} coming up: ${name}`, () => {
      assert.equal(poolIsComingUp(pool({ status: { ...status, ...change } })), want);
    });
  }
});

describe("toPoolResource", () => {
  it("prints a SandboxPool object with the spec, the status and the agents", () => {
    const resource = JSON.parse(
      JSON.stringify(toPoolResource(pool({ labels: { tier: "small" }, annotations: { note: "x" } }))),
    );
    assert.deepEqual(resource, {
      apiVersion: "sandbox.fast.io/v1alpha1",
      kind: "SandboxPool",
      metadata: {
        name: "small-pool",
        namespace: "default",
        uid: "u-1",
        resourceVersion: "7",
        generation: 1,
        creationTimestamp: "2026-05-01T12:05:00.000Z",
        labels: { tier: "small" },
        annotations: { note: "x" },
      },
      spec: {
        capacity: { poolMin: 1, poolMax: 2, bufferMin: 0, bufferMax: 10 },
        maxSandboxesPerPod: 2,
        runtimeType: "container",
      },
      status: {
        observedGeneration: 1,
        currentAgents: 1,
        readyAgents: 1,
        totalSlots: 2,
        allocatedSlots: 1,
        conditions: [{ type: "Ready", status: "True", reason: "AgentsReady", message: "" }],
        agents: [pool().agents[0]],
      },
    });
  });

  it("is taken back by apply as the same pool", () => {
    const text = stringify(JSON.parse(JSON.stringify(toPoolResource(DEFAULT_POOL))));
    const [doc] = parseManifestDocuments(text, "get.yaml");
    assert.ok(doc?.kind === "SandboxPool");
    assert.deepEqual(doc.pool.metadata, { name: "default-pool", namespace: "default" });
    assert.deepEqual(doc.pool.spec, {
      capacity: DEFAULT_POOL.spec.capacity,
      maxSandboxesPerPod: 3,
      runtimeType: "gvisor",
      prewarm: [
        { image: "docker.io/library/busybox:latest", command: ["sleep"], count: 2 },
        { image: "alpine:3", count: 1 },
      ],
    });
  });
});

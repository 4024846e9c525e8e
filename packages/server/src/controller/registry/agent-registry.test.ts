// Unit tests of AgentRegistry: filtering, scoring, ports per address, idempotency, restore and the no-fit messages.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import type { AgentInfo } from "./agent-info.ts";
import { AgentRegistry, type AllocationRequest } from "./agent-registry.ts";

const NOW = 1_700_000_000_000;
const POOL = "default-pool";
const NS = "default";
const ALPINE = "docker.io/library/alpine:latest";

/** An agent of the default pool at 10.0.0.1 with 5 slots, healthy, caching nothing, unless overridden. */
function agentInfo(id: string, over: Partial<AgentInfo> = {}): AgentInfo {
  const address = over.address ?? "10.0.0.1";
  return {
    id,
    address,
    url: `http://${address}:5758`,
    nodeName: `node-${id}`,
    pool: POOL,
    namespace: NS,
    capacity: 5,
    images: [],
    healthy: true,
    lastHeartbeat: NOW,
    ...over,
  };
}

function request(name: string, over: Partial<AllocationRequest> = {}): AllocationRequest {
  return { key: `${NS}/${name}`, pool: POOL, namespace: NS, image: "alpine", ports: [], ...over };
}

function registryWith(agents: AgentInfo[]): AgentRegistry {
  const registry = new AgentRegistry();
  for (const agent of agents) registry.upsertAgent(agent);
  return registry;
}

/** Gives `agentId` `n` port-less allocations, so cases can set loads directly. */
function load(registry: AgentRegistry, agentId: string, n: number): void {
  for (let i = 0; i < n; i++) registry.restore(`load/${agentId}-${i}`, { agentId, ports: [] });
}

function assertFsbError(
  run: () => unknown,
  code: ErrorCode,
  check: (err: FsbError) => void = () => {},
): void {
  assert.throws(run, (err) => {
    assert.ok(err instanceof FsbError, `want FsbError, got ${err}`);
    assert.equal(err.code, code, err.message);
    check(err);
    return true;
  });
}

interface PlacementCase {
  name: string;
  agents: AgentInfo[];
  setup?: (registry: AgentRegistry) => void;
  request: AllocationRequest;
  want: string;
}

describe("AgentRegistry.allocate placement", () => {
  const cases: PlacementCase[] = [
    { name: "the only agent", agents: [agentInfo("a")], request: request("s"), want: "a" },
    {
      name: "filter: same pool only",
      agents: [agentInfo("a", { pool: "other" }), agentInfo("b")],
      request: request("s"),
      want: "b",
    },
    {
      name: "filter: same namespace only",
      agents: [agentInfo("a", { namespace: "team-a" }), agentInfo("b")],
      request: request("s"),
      want: "b",
    },
    {
      name: "filter: unhealthy agents are skipped",
      agents: [agentInfo("a", { healthy: false, images: ["alpine"] }), agentInfo("b")],
      request: request("s"),
      want: "b",
    },
    {
      name: "filter: draining agents are skipped",
      agents: [agentInfo("a", { draining: true, images: ["alpine"] }), agentInfo("b")],
      request: request("s"),
      want: "b",
    },
    {
      name: "filter: full agents are skipped even with the image cached",
      agents: [agentInfo("a", { capacity: 1, images: ["alpine"] }), agentInfo("b")],
      setup: (r) => load(r, "a", 1),
      request: request("s"),
      want: "b",
    },
    {
      name: "filter: capacity 0 is never chosen",
      agents: [agentInfo("a", { capacity: 0, images: ["alpine"] }), agentInfo("b")],
      request: request("s"),
      want: "b",
    },
    {
      name: "filter: avoidAgents are skipped",
      agents: [agentInfo("a", { images: ["alpine"] }), agentInfo("b")],
      request: request("s", { avoidAgents: ["a"] }),
      want: "b",
    },
    {
      name: "ports: a port held by another agent on the same address blocks this one",
      agents: [
        agentInfo("a", { address: "10.0.0.1" }),
        agentInfo("b", { address: "10.0.0.1", images: ["alpine"] }),
        agentInfo("c", { address: "10.0.0.2" }),
      ],
      setup: (r) => r.restore("x/held", { agentId: "a", ports: [8080] }),
      request: request("s", { ports: [8080] }),
      want: "c",
    },
    {
      name: "ports: a port held on another address does not block",
      agents: [
        agentInfo("a", { address: "10.0.0.1" }),
        agentInfo("b", { address: "10.0.0.2", images: ["alpine"] }),
      ],
      setup: (r) => r.restore("x/held", { agentId: "a", ports: [8080] }),
      request: request("s", { ports: [8080] }),
      want: "b",
    },
    {
      name: "ports: every requested port must be free, not just the first",
      agents: [
        agentInfo("a", { address: "10.0.0.1", images: ["alpine"] }),
        agentInfo("b", { address: "10.0.0.2" }),
      ],
      setup: (r) => r.restore("x/held", { agentId: "a", ports: [9090] }),
      request: request("s", { ports: [8080, 9090] }),
      want: "b",
    },
    {
      name: "ports: other ports held on the address do not block",
      agents: [agentInfo("a", { images: ["alpine"] }), agentInfo("b", { address: "10.0.0.2" })],
      setup: (r) => r.restore("x/held", { agentId: "a", ports: [9090] }),
      request: request("s", { ports: [8080] }),
      want: "a",
    },
    {
      name: "score: image affinity beats load",
      agents: [agentInfo("a"), agentInfo("b", { images: ["alpine"] })],
      setup: (r) => load(r, "b", 4),
      request: request("s"),
      want: "b",
    },
    {
      name: "score: among agents with the image, the least loaded",
      agents: [
        agentInfo("a", { images: ["alpine"] }),
        agentInfo("b", { images: ["alpine"] }),
        agentInfo("c"),
      ],
      setup: (r) => load(r, "a", 2),
      request: request("s"),
      want: "b",
    },
    {
      name: "score: load beats id",
      agents: [agentInfo("a"), agentInfo("b")],
      setup: (r) => load(r, "a", 1),
      request: request("s"),
      want: "b",
    },
    {
      name: "score: load is allocated/capacity, not the count",
      agents: [agentInfo("a", { capacity: 2 }), agentInfo("b", { capacity: 10 })],
      setup: (r) => {
        load(r, "a", 1);
        load(r, "b", 2);
      },
      request: request("s"),
      want: "b",
    },
    {
      name: "score: ties go to the lowest id",
      agents: [agentInfo("c"), agentInfo("a"), agentInfo("b")],
      request: request("s"),
      want: "a",
    },
    {
      name: "image: the agent's names are normalised",
      agents: [agentInfo("a"), agentInfo("b", { images: ["docker.io/library/alpine"] })],
      request: request("s", { image: "alpine:latest" }),
      want: "b",
    },
    {
      name: "image: the request's name is normalised",
      agents: [agentInfo("a"), agentInfo("b", { images: ["alpine"] })],
      request: request("s", { image: ALPINE }),
      want: "b",
    },
    {
      name: "image: another tag is not a cache hit",
      agents: [agentInfo("a"), agentInfo("b", { images: ["alpine:3.20"] })],
      request: request("s"),
      want: "a",
    },
    {
      name: "preferAgent: wins over image and load",
      agents: [agentInfo("a", { images: ["alpine"] }), agentInfo("b")],
      setup: (r) => load(r, "b", 3),
      request: request("s", { preferAgent: "b" }),
      want: "b",
    },
    {
      name: "preferAgent: ignored when it is unhealthy",
      agents: [agentInfo("a"), agentInfo("b", { healthy: false })],
      request: request("s", { preferAgent: "b" }),
      want: "a",
    },
    {
      name: "preferAgent: ignored when it is full",
      agents: [agentInfo("a"), agentInfo("b", { capacity: 1 })],
      setup: (r) => load(r, "b", 1),
      request: request("s", { preferAgent: "b" }),
      want: "a",
    },
    {
      name: "preferAgent: ignored when a port is taken on its address",
      agents: [agentInfo("a", { address: "10.0.0.2" }), agentInfo("b")],
      setup: (r) => r.restore("x/held", { agentId: "b", ports: [8080] }),
      request: request("s", { preferAgent: "b", ports: [8080] }),
      want: "a",
    },
    {
      name: "preferAgent: ignored when also avoided",
      agents: [agentInfo("a"), agentInfo("b")],
      request: request("s", { preferAgent: "b", avoidAgents: ["b"] }),
      want: "a",
    },
    {
      name: "preferAgent: ignored when in another pool",
      agents: [agentInfo("a"), agentInfo("b", { pool: "other" })],
      request: request("s", { preferAgent: "b" }),
      want: "a",
    },
    {
      name: "preferAgent: unknown id is ignored",
      agents: [agentInfo("a")],
      request: request("s", { preferAgent: "ghost" }),
      want: "a",
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const registry = registryWith(tc.agents);
      tc.setup?.(registry);
      const got = registry.allocate(tc.request);
      assert.equal(got.agentId, tc.want);
    });
  }

  it("returns the agent's address, url, node and the reserved ports", () => {
    const registry = registryWith([agentInfo("a", { address: "10.1.2.3", nodeName: "n1" })]);
    assert.deepEqual(registry.allocate(request("s", { ports: [8080, 443] })), {
      key: "default/s",
      agentId: "a",
      address: "10.1.2.3",
      url: "http://10.1.2.3:5758",
      nodeName: "n1",
      ports: [8080, 443],
    });
  });

  it("fills agents evenly, then fails once every slot is taken", () => {
    const registry = registryWith([agentInfo("a", { capacity: 2 }), agentInfo("b", { capacity: 2 })]);
    const placed = ["s1", "s2", "s3", "s4"].map((name) => registry.allocate(request(name)).agentId);
    assert.deepEqual(placed, ["a", "b", "a", "b"]);
    assertFsbError(() => registry.allocate(request("s5")), ErrorCode.ResourceExhausted);
    assert.equal(registry.release("default/s2"), true);
    assert.equal(registry.allocate(request("s5")).agentId, "b");
  });

  it("agents on one address share its port space; other addresses do not", () => {
    const registry = registryWith([
      agentInfo("a", { address: "127.0.0.1" }),
      agentInfo("b", { address: "127.0.0.1" }),
      agentInfo("c", { address: "10.0.0.9" }),
    ]);
    assert.equal(registry.allocate(request("s1", { ports: [8080] })).agentId, "a");
    assert.equal(registry.allocate(request("s2", { ports: [8080] })).agentId, "c");
    assertFsbError(() => registry.allocate(request("s3", { ports: [8080] })), ErrorCode.ResourceExhausted);
    assert.equal(registry.allocate(request("s3", { ports: [8081] })).agentId, "b");
  });

  it("books ports only for sandboxes that share the agent's address (network mode agent)", () => {
    const registry = registryWith([agentInfo("a", { networkMode: "isolated" })]);
    // Isolated sandboxes each have an address: any number of them may expose 8080 on one agent.
    assert.equal(registry.allocate(request("s1", { ports: [8080] })).agentId, "a");
    assert.equal(registry.allocate(request("s2", { ports: [8080] })).agentId, "a");
    assert.equal(registry.allocate(request("s3", { ports: [8080], networkMode: "none" })).agentId, "a");
    // A sandbox asking for the agent's namespace books its port there, once.
    assert.equal(registry.allocate(request("s4", { ports: [8080], networkMode: "agent" })).agentId, "a");
    assertFsbError(
      () => registry.allocate(request("s5", { ports: [8080], networkMode: "agent" })),
      ErrorCode.ResourceExhausted,
    );
    assert.equal(registry.allocate(request("s5", { ports: [8080] })).agentId, "a");
  });
});

interface NoFitCase {
  name: string;
  agents: AgentInfo[];
  setup?: (registry: AgentRegistry) => void;
  request: AllocationRequest;
  reason: string;
}

describe("AgentRegistry.allocate failures say why", () => {
  const prefix = `cannot place sandbox "default/s" in pool "${POOL}" of namespace "${NS}": `;
  const cases: NoFitCase[] = [
    {
      name: "no agent at all",
      agents: [],
      request: request("s"),
      reason: "no agent is registered in it",
    },
    {
      name: "the pool exists only in other namespaces",
      agents: [agentInfo("a", { namespace: "team-b" }), agentInfo("b", { namespace: "team-a" })],
      request: request("s"),
      reason: 'no agent is registered in it; a pool of that name has agents in namespace "team-a", "team-b"',
    },
    {
      name: "all agents full",
      agents: [agentInfo("a", { capacity: 1 }), agentInfo("b", { capacity: 2 })],
      setup: (r) => {
        load(r, "a", 1);
        load(r, "b", 2);
      },
      request: request("s"),
      reason: "all 2 agents are full (3 of 3 slots used)",
    },
    {
      name: "the only agent full",
      agents: [agentInfo("a")],
      setup: (r) => load(r, "a", 5),
      request: request("s"),
      reason: "its only agent is full (5 of 5 slots used)",
    },
    {
      name: "all agents unhealthy",
      agents: [agentInfo("a", { healthy: false }), agentInfo("b", { healthy: false })],
      request: request("s"),
      reason: "all 2 agents are unhealthy",
    },
    {
      name: "all agents draining",
      agents: [agentInfo("a", { draining: true }), agentInfo("b", { draining: true })],
      request: request("s"),
      reason: "all 2 agents are draining",
    },
    {
      name: "all agents avoided",
      agents: [agentInfo("a"), agentInfo("b")],
      request: request("s", { avoidAgents: ["a", "b"] }),
      reason: "all 2 agents are excluded by avoidAgents",
    },
    {
      name: "one port in use on every eligible agent",
      agents: [agentInfo("a"), agentInfo("b")],
      setup: (r) => r.restore("x/held", { agentId: "a", ports: [8080] }),
      request: request("s", { ports: [8080, 9000] }),
      reason: "port 8080 is in use on all 2 eligible agents",
    },
    {
      name: "one port in use on the only agent",
      agents: [agentInfo("a")],
      setup: (r) => r.restore("x/held", { agentId: "a", ports: [8080] }),
      request: request("s", { ports: [8080] }),
      reason: "port 8080 is in use on its only eligible agent",
    },
    {
      name: "several ports in use on every eligible agent",
      agents: [agentInfo("a"), agentInfo("b")],
      setup: (r) => r.restore("x/held", { agentId: "a", ports: [8080, 9090] }),
      request: request("s", { ports: [8080, 9090] }),
      reason: "ports 8080, 9090 are in use on all 2 eligible agents",
    },
    {
      name: "different ports block different agents",
      agents: [agentInfo("a", { address: "10.0.0.1" }), agentInfo("b", { address: "10.0.0.2" })],
      setup: (r) => {
        r.restore("x/held-1", { agentId: "a", ports: [8080] });
        r.restore("x/held-2", { agentId: "b", ports: [9090] });
      },
      request: request("s", { ports: [8080, 9090] }),
      reason: "every one of the 2 eligible agents has a requested port in use (8080 on 1, 9090 on 1)",
    },
    {
      name: "a mix of reasons is itemised",
      agents: [
        agentInfo("a", { healthy: false, address: "10.0.0.1" }),
        agentInfo("b", { draining: true, address: "10.0.0.2" }),
        agentInfo("c", { capacity: 1, address: "10.0.0.3" }),
        agentInfo("d", { address: "10.0.0.4" }),
        agentInfo("e", { address: "10.0.0.5" }),
      ],
      setup: (r) => {
        load(r, "c", 1);
        r.restore("x/held", { agentId: "d", ports: [8080] });
      },
      request: request("s", { ports: [8080], avoidAgents: ["e"] }),
      reason:
        "none of its 5 agents fits: 1 unhealthy, 1 draining, 1 full, 1 excluded by avoidAgents, port 8080 in use on 1",
    },
    {
      name: "a mix with several blocking ports lists them",
      agents: [
        agentInfo("a", { capacity: 0, address: "10.0.0.1" }),
        agentInfo("b", { address: "10.0.0.2" }),
        agentInfo("c", { address: "10.0.0.3" }),
      ],
      setup: (r) => {
        r.restore("x/held-1", { agentId: "b", ports: [8080] });
        r.restore("x/held-2", { agentId: "c", ports: [9090] });
      },
      request: request("s", { ports: [8080, 9090] }),
      reason: "none of its 3 agents fits: 1 full, requested ports in use on 2 (8080 on 1, 9090 on 1)",
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const registry = registryWith(tc.agents);
      tc.setup?.(registry);
      const before = registry.allocations().length;
      assertFsbError(
        () => registry.allocate(tc.request),
        ErrorCode.ResourceExhausted,
        (err) => {
          assert.equal(err.message, prefix + tc.reason);
          assert.equal(err.retryable, true);
        },
      );
      assert.equal(registry.allocations().length, before, "a failed allocate must reserve nothing");
    });
  }
});

describe("AgentRegistry.allocate rejects malformed requests", () => {
  const cases: Array<{ name: string; request: AllocationRequest; field: string }> = [
    { name: "empty key", request: request("s", { key: "" }), field: "key" },
    { name: "empty pool", request: request("s", { pool: "" }), field: "pool" },
    { name: "empty namespace", request: request("s", { namespace: "" }), field: "namespace" },
    { name: "invalid image", request: request("s", { image: "Alpine!" }), field: "image" },
    { name: "port 0", request: request("s", { ports: [0] }), field: "ports[0]" },
    { name: "port above 65535", request: request("s", { ports: [80, 65_536] }), field: "ports[1]" },
    { name: "fractional port", request: request("s", { ports: [80.5] }), field: "ports[0]" },
    { name: "duplicate port", request: request("s", { ports: [80, 443, 80] }), field: "ports[2]" },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const registry = registryWith([agentInfo("a")]);
      assertFsbError(
        () => registry.allocate(tc.request),
        ErrorCode.InvalidArgument,
        (err) => assert.equal(err.field, tc.field),
      );
    });
  }
});

describe("AgentRegistry idempotency", () => {
  it("allocate with a held key returns the same allocation and takes nothing more", () => {
    const registry = registryWith([
      agentInfo("a", { address: "10.0.0.1" }),
      agentInfo("b", { address: "10.0.0.2" }),
    ]);
    const first = registry.allocate(request("s", { ports: [8080] }));
    const again = registry.allocate(request("s", { ports: [9090], image: "busybox", preferAgent: "b" }));
    assert.deepEqual(again, first);
    assert.equal(registry.stats().slotsUsed, 1);
    // 9090 was never reserved anywhere.
    assert.equal(registry.allocate(request("t", { ports: [9090], preferAgent: "a" })).agentId, "a");
  });

  it("release frees the slot and ports once, then reports nothing to free", () => {
    const registry = registryWith([agentInfo("a", { capacity: 1 })]);
    registry.allocate(request("s", { ports: [8080] }));
    const cases = [
      { name: "first release", want: true },
      { name: "second release", want: false },
    ];
    for (const tc of cases) assert.equal(registry.release("default/s"), tc.want, tc.name);
    assert.equal(registry.release("default/never"), false);
    assert.equal(registry.allocationOf("default/s"), undefined);
    assert.equal(registry.allocate(request("t", { ports: [8080] })).agentId, "a");
  });
});

describe("AgentRegistry.restore", () => {
  it("may overfill an agent, which then takes nothing new", () => {
    const registry = registryWith([agentInfo("a", { capacity: 1 })]);
    registry.restore("default/s1", { agentId: "a", ports: [] });
    registry.restore("default/s2", { agentId: "a", ports: [] });
    assert.equal(registry.agent("a")?.allocated, 2);
    assert.deepEqual(registry.stats(), {
      agents: 1,
      healthyAgents: 1,
      slotsTotal: 1,
      slotsUsed: 2,
      slotsFree: 0,
    });
    assertFsbError(
      () => registry.allocate(request("s3")),
      ErrorCode.ResourceExhausted,
      (err) => assert.match(err.message, /its only agent is full \(2 of 1 slots used\)$/),
    );
  });

  it("then allocate never exceeds capacity", () => {
    const registry = registryWith([agentInfo("a", { capacity: 3 }), agentInfo("b", { capacity: 2 })]);
    registry.restore("default/r1", { agentId: "a", ports: [] });
    registry.restore("default/r2", { agentId: "a", ports: [] });
    registry.restore("default/r3", { agentId: "b", ports: [] });
    for (const name of ["n1", "n2"]) registry.allocate(request(name));
    assertFsbError(() => registry.allocate(request("n3")), ErrorCode.ResourceExhausted);
    for (const id of ["a", "b"]) {
      const agent = registry.agent(id);
      assert.equal(agent?.allocated, agent?.capacity, id);
    }
  });

  it("books restored ports so allocate avoids them", () => {
    const registry = registryWith([
      agentInfo("a", { address: "127.0.0.1" }),
      agentInfo("b", { address: "127.0.0.1" }),
    ]);
    registry.restore("default/r", { agentId: "b", ports: [8080] });
    assertFsbError(() => registry.allocate(request("s", { ports: [8080] })), ErrorCode.ResourceExhausted);
  });

  it("remembers an unknown agent as a placeholder until it registers", () => {
    const registry = registryWith([agentInfo("y", { address: "10.0.0.1" })]);
    const restored = registry.restore("default/r", { agentId: "z", ports: [8080] });
    assert.deepEqual(restored, {
      key: "default/r",
      agentId: "z",
      address: "",
      url: "",
      nodeName: "",
      ports: [8080],
    });
    assert.equal(registry.agent("z")?.placeholder, true);
    assert.equal(registry.stats().agents, 1, "placeholders are not counted as agents");
    // The placeholder has no address yet, so its port blocks nothing...
    assert.equal(registry.allocate(request("s1", { ports: [8080] })).agentId, "y");
    registry.release("default/s1");
    // ...until the agent registers on y's address: then 8080 is taken there for everyone.
    registry.upsertAgent(agentInfo("z", { address: "10.0.0.1", capacity: 1 }));
    assert.equal(registry.agent("z")?.placeholder, false);
    assert.equal(registry.agent("z")?.allocated, 1);
    assert.equal(registry.allocationOf("default/r")?.address, "10.0.0.1");
    assertFsbError(() => registry.allocate(request("s2", { ports: [8080] })), ErrorCode.ResourceExhausted);
    assert.equal(registry.allocate(request("s2")).agentId, "y", "z is full with its restored sandbox");
  });

  it("drops a placeholder once its last allocation is released", () => {
    const registry = new AgentRegistry();
    registry.restore("default/r", { agentId: "z", ports: [] });
    assert.equal(registry.release("default/r"), true);
    assert.equal(registry.agent("z"), undefined);
  });

  it("keeps an identical allocation and replaces a different one", () => {
    const registry = registryWith([
      agentInfo("a", { address: "10.0.0.1" }),
      agentInfo("b", { address: "10.0.0.2" }),
    ]);
    registry.allocate(request("s", { ports: [8080], preferAgent: "a" }));
    const cases = [
      { name: "same agent and ports", agentId: "a", ports: [8080], wantA: 1, wantB: 0 },
      { name: "other agent", agentId: "b", ports: [8080], wantA: 0, wantB: 1 },
      { name: "same agent, other ports", agentId: "b", ports: [9090], wantA: 0, wantB: 1 },
    ];
    for (const tc of cases) {
      const got = registry.restore("default/s", { agentId: tc.agentId, ports: tc.ports });
      assert.deepEqual([got.agentId, got.ports], [tc.agentId, tc.ports], tc.name);
      assert.equal(registry.agent("a")?.allocated, tc.wantA, tc.name);
      assert.equal(registry.agent("b")?.allocated, tc.wantB, tc.name);
    }
    // The replaced allocations' ports were freed: 8080 is free on b's address, 9090 is held.
    assert.equal(registry.allocate(request("t", { ports: [8080], preferAgent: "b" })).agentId, "b");
    assert.equal(registry.allocate(request("u", { ports: [9090], preferAgent: "b" })).agentId, "a");
  });

  it("keeps a conflicting port held until its last holder is released", () => {
    const registry = registryWith([agentInfo("a"), agentInfo("b")]);
    registry.restore("default/r1", { agentId: "a", ports: [8080] });
    registry.restore("default/r2", { agentId: "b", ports: [8080] });
    registry.release("default/r1");
    assertFsbError(() => registry.allocate(request("s", { ports: [8080] })), ErrorCode.ResourceExhausted);
    registry.release("default/r2");
    assert.deepEqual(registry.allocate(request("s", { ports: [8080] })).ports, [8080]);
  });

  it("tolerates repeated ports but rejects invalid ones", () => {
    const registry = registryWith([agentInfo("a")]);
    assert.deepEqual(registry.restore("default/r", { agentId: "a", ports: [80, 80] }).ports, [80]);
    assertFsbError(
      () => registry.restore("default/q", { agentId: "a", ports: [0] }),
      ErrorCode.InvalidArgument,
      (err) => assert.equal(err.field, "ports[0]"),
    );
  });
});

describe("AgentRegistry agent lifecycle", () => {
  it("upsertAgent keeps allocations across a refresh, even when capacity shrinks below them", () => {
    const registry = registryWith([agentInfo("a", { capacity: 3 })]);
    for (const name of ["s1", "s2"]) registry.allocate(request(name));
    registry.upsertAgent(agentInfo("a", { capacity: 1, lastHeartbeat: NOW + 1 }));
    assert.equal(registry.agent("a")?.allocated, 2);
    assert.equal(registry.agent("a")?.lastHeartbeat, NOW + 1);
    assert.deepEqual(registry.stats(), {
      agents: 1,
      healthyAgents: 1,
      slotsTotal: 1,
      slotsUsed: 2,
      slotsFree: 0,
    });
    assertFsbError(() => registry.allocate(request("s3")), ErrorCode.ResourceExhausted);
    registry.upsertAgent(agentInfo("a", { capacity: 3 }));
    assert.equal(registry.allocate(request("s3")).agentId, "a");
  });

  it("upsertAgent normalises images and drops names that are not references", () => {
    const registry = new AgentRegistry();
    const agent = registry.upsertAgent(
      agentInfo("a", { images: ["alpine", "Not Valid!", "busybox:1.36", ALPINE] }),
    );
    assert.deepEqual(agent.images, [ALPINE, "docker.io/library/busybox:1.36"]);
  });

  it("upsertAgent moves held ports along with a new address", () => {
    const registry = registryWith([
      agentInfo("a", { address: "10.0.0.1" }),
      agentInfo("b", { address: "10.0.0.2" }),
    ]);
    registry.allocate(request("s", { ports: [8080], preferAgent: "a" }));
    registry.upsertAgent(agentInfo("a", { address: "10.0.0.2" }));
    assert.equal(registry.allocationOf("default/s")?.address, "10.0.0.2");
    assertFsbError(() => registry.allocate(request("t", { ports: [8080] })), ErrorCode.ResourceExhausted);
  });

  it("upsertAgent moves an agent to its new pool", () => {
    const registry = registryWith([agentInfo("a")]);
    registry.upsertAgent(agentInfo("a", { pool: "gpu" }));
    assertFsbError(() => registry.allocate(request("s")), ErrorCode.ResourceExhausted);
    assert.equal(registry.allocate(request("s", { pool: "gpu" })).agentId, "a");
    assert.deepEqual(registry.pools(), [{ namespace: NS, pool: "gpu" }]);
  });

  const invalid: Array<{ name: string; info: AgentInfo; field: string }> = [
    { name: "empty id", info: agentInfo(""), field: "agent.id" },
    { name: "empty address", info: agentInfo("a", { address: "" }), field: "agent.address" },
    { name: "empty pool", info: agentInfo("a", { pool: "" }), field: "agent.pool" },
    { name: "empty namespace", info: agentInfo("a", { namespace: "" }), field: "agent.namespace" },
    { name: "negative capacity", info: agentInfo("a", { capacity: -1 }), field: "agent.capacity" },
    { name: "fractional capacity", info: agentInfo("a", { capacity: 1.5 }), field: "agent.capacity" },
  ];
  for (const tc of invalid) {
    it(`upsertAgent rejects ${tc.name}`, () => {
      assertFsbError(
        () => new AgentRegistry().upsertAgent(tc.info),
        ErrorCode.InvalidArgument,
        (err) => assert.equal(err.field, tc.field),
      );
    });
  }

  it("removeAgent returns its sandboxes' keys and frees their ports on the shared address", () => {
    const registry = registryWith([agentInfo("a"), agentInfo("b")]);
    registry.allocate(request("s1", { ports: [8080], preferAgent: "a" }));
    registry.allocate(request("s2", { preferAgent: "a" }));
    registry.allocate(request("s3", { preferAgent: "b" }));
    assert.deepEqual(registry.removeAgent("a"), ["default/s1", "default/s2"]);
    assert.deepEqual(registry.removeAgent("a"), []);
    assert.equal(registry.allocationOf("default/s1"), undefined);
    assert.deepEqual(
      registry.allocations().map((a) => a.key),
      ["default/s3"],
    );
    assert.equal(registry.allocate(request("s4", { ports: [8080] })).agentId, "b");
  });

  it("markHealthy takes an agent out and back, and refreshes the heartbeat only when healthy", () => {
    const registry = registryWith([agentInfo("a", { images: ["alpine"] }), agentInfo("b")]);
    const steps = [
      { name: "down", healthy: false, now: NOW + 10, wantAgent: "b", wantHeartbeat: NOW },
      { name: "up again", healthy: true, now: NOW + 20, wantAgent: "a", wantHeartbeat: NOW + 20 },
    ];
    for (const [i, step] of steps.entries()) {
      assert.equal(registry.markHealthy("a", step.healthy, step.now), true, step.name);
      assert.equal(registry.agent("a")?.lastHeartbeat, step.wantHeartbeat, step.name);
      assert.equal(registry.allocate(request(`s${i}`)).agentId, step.wantAgent, step.name);
    }
    assert.equal(registry.markHealthy("ghost", true, NOW), false);
  });

  it("setDraining takes an agent out and back", () => {
    const registry = registryWith([agentInfo("a", { images: ["alpine"] }), agentInfo("b")]);
    assert.equal(registry.setDraining("a", true), true);
    assert.equal(registry.allocate(request("s1")).agentId, "b");
    assert.equal(registry.stats().slotsFree, 4, "a draining agent's slots are not free");
    registry.setDraining("a", false);
    assert.equal(registry.allocate(request("s2")).agentId, "a");
    assert.equal(registry.setDraining("ghost", true), false);
  });

  it("expireStale marks agents without a recent heartbeat unhealthy", () => {
    const registry = registryWith([
      agentInfo("old", { lastHeartbeat: NOW - 31_000 }),
      agentInfo("fresh", { lastHeartbeat: NOW - 5_000 }),
      agentInfo("down", { lastHeartbeat: NOW - 60_000, healthy: false }),
    ]);
    assert.deepEqual(registry.expireStale(NOW, 30_000), ["old"]);
    assert.equal(registry.agent("old")?.healthy, false);
    assert.deepEqual(registry.expireStale(NOW, 30_000), []);
  });
});

describe("AgentRegistry.stats", () => {
  it("counts all registered agents or one pool's", () => {
    const registry = registryWith([
      agentInfo("a", { capacity: 5 }),
      agentInfo("b", { capacity: 3, healthy: false }),
      agentInfo("c", { capacity: 2, pool: "gpu" }),
    ]);
    registry.allocate(request("s1"));
    registry.allocate(request("s2", { pool: "gpu" }));
    registry.restore("default/r", { agentId: "ghost", ports: [] });
    const cases = [
      {
        name: "all pools",
        got: registry.stats(),
        want: { agents: 3, healthyAgents: 2, slotsTotal: 10, slotsUsed: 2, slotsFree: 5 },
      },
      {
        name: "default pool",
        got: registry.stats({ namespace: NS, pool: POOL }),
        want: { agents: 2, healthyAgents: 1, slotsTotal: 8, slotsUsed: 1, slotsFree: 4 },
      },
      {
        name: "unknown pool",
        got: registry.stats({ namespace: NS, pool: "nope" }),
        want: { agents: 0, healthyAgents: 0, slotsTotal: 0, slotsUsed: 0, slotsFree: 0 },
      },
    ];
    for (const tc of cases) assert.deepEqual(tc.got, tc.want, tc.name);
  });
});

describe("AgentRegistry under churn", () => {
  it("never exceeds capacity nor shares a port on an address, and matches a brute-force choice", () => {
    // A deterministic LCG, so a failure reproduces.
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const images = ["alpine", "busybox", "nginx", "redis"];
    const agents: AgentInfo[] = [];
    for (let i = 0; i < 40; i++) {
      agents.push(
        agentInfo(`agent-${String(i).padStart(2, "0")}`, {
          address: `10.0.0.${i % 10}`,
          capacity: 1 + (i % 4),
          images: images.filter(() => random() < 0.4),
          healthy: random() < 0.9,
        }),
      );
    }
    const registry = registryWith(agents);
    const live: string[] = [];
    for (let step = 0; step < 3000; step++) {
      if (live.length > 0 && random() < 0.45) {
        const [key] = live.splice(Math.floor(random() * live.length), 1);
        assert.equal(registry.release(key as string), true);
        continue;
      }
      const req = request(`s${step}`, {
        image: images[Math.floor(random() * images.length)] as string,
        ports: random() < 0.5 ? [8000 + Math.floor(random() * 5)] : [],
      });
      const want = bruteForce(registry, agents, req);
      let got: string | undefined;
      try {
        got = registry.allocate(req).agentId;
        live.push(req.key);
      } catch (err) {
        assert.ok(err instanceof FsbError && err.code === ErrorCode.ResourceExhausted, String(err));
      }
      assert.equal(got, want, `step ${step}`);
    }
    for (const agent of registry.agents()) assert.ok(agent.allocated <= agent.capacity, agent.id);
    const seen = new Set<string>();
    for (const allocation of registry.allocations()) {
      for (const port of allocation.ports) {
        const slot = `${allocation.address}:${port}`;
        assert.ok(!seen.has(slot), `${slot} held twice`);
        seen.add(slot);
      }
    }
  });
});

// The placement rule spelled out as a linear scan, to cross-check the heaps.
function bruteForce(
  registry: AgentRegistry,
  agents: AgentInfo[],
  req: AllocationRequest,
): string | undefined {
  const held = new Set(registry.allocations().flatMap((a) => a.ports.map((p) => `${a.address}:${p}`)));
  const image = `docker.io/library/${req.image}:latest`;
  const eligible = agents
    .map((info) => registry.agent(info.id))
    .filter((a) => a !== undefined)
    .filter((a) => a.healthy && a.allocated < a.capacity)
    .filter((a) => req.ports.every((p) => !held.has(`${a.address}:${p}`)));
  eligible.sort((a, b) => {
    const affinity = Number(b.images.includes(image)) - Number(a.images.includes(image));
    if (affinity !== 0) return affinity;
    const load = a.allocated / a.capacity - b.allocated / b.capacity;
    if (load !== 0) return load;
    return a.id < b.id ? -1 : 1;
  });
  return eligible[0]?.id;
}

describe("AgentRegistry with requireImage (agents that cannot pull)", () => {
  const withImage = (id: string) => agentInfo(id, { images: ["alpine"] });

  it("never places on an agent without the image, however idle it is", () => {
    const registry = registryWith([withImage("cached"), agentInfo("empty")]);
    load(registry, "cached", 4);
    assert.equal(registry.allocate(request("a", { requireImage: true })).agentId, "cached");
  });

  it("answers RESOURCE_EXHAUSTED naming the sandbox when every agent with the image is full", () => {
    const registry = registryWith([withImage("cached"), agentInfo("empty")]);
    load(registry, "cached", 5);
    assertFsbError(
      () => registry.allocate(request("b", { requireImage: true, displayName: "team/b" })),
      ErrorCode.ResourceExhausted,
      (err) => {
        assert.match(err.message, /^cannot place sandbox "team\/b"/);
        assert.match(err.message, /its only agent is full \(5 of 5 slots used\)/);
      },
    );
  });

  it("answers FAILED_PRECONDITION on the image when no agent in the pool has it", () => {
    const registry = registryWith([agentInfo("empty-1"), agentInfo("empty-2")]);
    assertFsbError(
      () => registry.allocate(request("c", { requireImage: true })),
      ErrorCode.FailedPrecondition,
      (err) => {
        assert.equal(err.field, "image");
        assert.match(err.message, /docker\.io\/library\/alpine:latest is not on any agent of pool/);
        assert.match(err.message, /; no agent of any pool has it; agents do not pull images/);
      },
    );
  });

  it("names the pools and nodes that do have the image, in any namespace", () => {
    const registry = registryWith([
      agentInfo("empty-1"),
      agentInfo("tools-1", { pool: "tools", images: ["alpine"] }),
      agentInfo("tools-2", { pool: "tools", images: ["alpine"], nodeName: "node-tools-1" }),
      agentInfo("other-1", { pool: "p", namespace: "team-b", images: ["docker.io/library/alpine:latest"] }),
    ]);
    assertFsbError(
      () => registry.allocate(request("c", { requireImage: true })),
      ErrorCode.FailedPrecondition,
      (err) =>
        assert.match(
          err.rawMessage,
          /; it is on pool "tools" \(node node-tools-1\), pool "p" in namespace "team-b" \(node node-other-1\);/,
        ),
    );
  });

  it("still falls back to any agent without requireImage (the default)", () => {
    const registry = registryWith([agentInfo("empty")]);
    assert.equal(registry.allocate(request("d")).agentId, "empty");
  });
});

describe("AgentRegistry release memory", () => {
  it("remembers a release, so a report taken before it does not restore the slot (regression)", () => {
    let now = 1_000;
    const registry = new AgentRegistry({ now: () => now });
    registry.upsertAgent(agentInfo("a"));
    registry.allocate(request("x", { key: "sb-x" }));
    const probeStartedAt = now;
    now += 10;
    registry.release("sb-x");
    assert.equal(registry.releasedSince("sb-x", probeStartedAt), true);
    assert.equal(
      registry.releasedSince("sb-x", now + 1),
      false,
      "a report taken after the release may restore it",
    );
    now += 61_000;
    registry.release("other");
    registry.allocate(request("y", { key: "sb-y" }));
    registry.release("sb-y");
    assert.equal(registry.releasedSince("sb-x", probeStartedAt), false, "old releases are forgotten");
  });
});

describe("prewarm preference", () => {
  it("prefers an agent holding a ready prewarmed container over a less loaded one", () => {
    const registry = registryWith([agentInfo("a"), agentInfo("b", { prewarm: { k1: 1 } })]);
    load(registry, "b", 2);
    assert.equal(registry.allocate(request("s1", { prewarmKey: "k1" })).agentId, "b");
  });

  it("counts a taken container, so the next create goes by load again", () => {
    const registry = registryWith([agentInfo("a"), agentInfo("b", { prewarm: { k1: 1 } })]);
    load(registry, "b", 2);
    registry.allocate(request("s1", { prewarmKey: "k1" }));
    assert.equal(registry.agent("b")?.prewarm?.k1, undefined);
    assert.equal(registry.allocate(request("s2", { prewarmKey: "k1" })).agentId, "a");
  });

  it("ignores other keys, full holders and draining holders", () => {
    const registry = registryWith([
      agentInfo("a"),
      agentInfo("b", { prewarm: { k1: 3 }, capacity: 1 }),
      agentInfo("c", { prewarm: { k1: 3 } }),
      agentInfo("d", { prewarm: { k2: 3 } }),
    ]);
    load(registry, "b", 1);
    registry.setDraining("c", true);
    load(registry, "d", 1);
    assert.equal(registry.allocate(request("s1", { prewarmKey: "k1" })).agentId, "a");
  });

  it("a status refresh does not undo draining", () => {
    const registry = registryWith([agentInfo("a")]);
    registry.setDraining("a", true);
    registry.upsertAgent(agentInfo("a"));
    assert.equal(registry.agent("a")?.draining, true);
    assertFsbError(() => registry.allocate(request("s1")), ErrorCode.ResourceExhausted);
  });
});

describe("changes (room may have appeared)", () => {
  function counting(registry: AgentRegistry): () => number {
    let n = 0;
    registry.changes.subscribe(() => n++);
    return () => n;
  }

  it("fires when an agent registers, comes back healthy, leaves drain, or a slot is freed", () => {
    const registry = new AgentRegistry();
    const count = counting(registry);
    registry.upsertAgent(agentInfo("a", { capacity: 1 }));
    assert.equal(count(), 1, "registered");
    registry.allocate(request("s1"));
    registry.release(`${NS}/s1`);
    assert.equal(count(), 2, "slot freed");
    registry.markHealthy("a", false, NOW);
    registry.markHealthy("a", true, NOW);
    assert.equal(count(), 3, "healthy again (going unhealthy is no room)");
    registry.setDraining("a", true);
    registry.setDraining("a", false);
    assert.equal(count(), 4, "drain lifted");
    registry.upsertAgent(agentInfo("a", { capacity: 2 }));
    assert.equal(count(), 5, "capacity grew");
    registry.upsertAgent(agentInfo("a", { capacity: 2, images: [ALPINE] }));
    assert.equal(count(), 6, "an image arrived");
  });

  it("stays quiet on a status refresh that changes nothing about room", () => {
    const registry = registryWith([agentInfo("a", { images: [ALPINE] })]);
    const count = counting(registry);
    for (let i = 0; i < 5; i++)
      registry.upsertAgent(agentInfo("a", { images: [ALPINE], lastHeartbeat: NOW + i }));
    registry.markHealthy("a", true, NOW + 10);
    registry.allocate(request("s1"));
    assert.equal(count(), 0);
  });
});

// The pool controller against in-memory agents, an in-memory launcher and a temporary SQLite store:
// what it launches, drains, removes and pushes, and the status it writes.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import {
  API_VERSION,
  objectKey,
  POOL_KIND,
  PoolCondition,
  PoolReason,
  SANDBOX_KIND,
  type Sandbox,
  type SandboxPool,
  type SandboxPoolSpec,
} from "@fast-sandbox/api";
import { Informer } from "../../kube/informer.ts";
import { TestWorld } from "../test-world.ts";
import type { AgentLauncher, LaunchedAgent, PoolRef } from "./agent-launcher.ts";
import { PoolController } from "./pool-controller.ts";

/** Remembers launches and removals; a test brings a launched agent up with {@link up}. */
class MemoryLauncher implements AgentLauncher {
  readonly oneNode = false;
  readonly launched: LaunchedAgent[] = [];
  readonly removed: string[] = [];
  readonly #now: () => number;
  #next = 1;
  constructor(now: () => number) {
    this.#now = now;
  }
  async start(): Promise<void> {}
  agents(pool: PoolRef): LaunchedAgent[] {
    return this.launched.filter((a) => a.pool.namespace === pool.namespace && a.pool.name === pool.name);
  }
  async launch(pool: SandboxPool): Promise<string> {
    const agentId = `${pool.metadata.name}-${this.#next++}`;
    const ref = { namespace: pool.metadata.namespace, name: pool.metadata.name };
    this.launched.push({ agentId, pool: ref, state: "starting", launchedAt: this.#now() });
    return agentId;
  }
  async remove(_pool: PoolRef, agentId: string): Promise<void> {
    this.removed.push(agentId);
    const i = this.launched.findIndex((a) => a.agentId === agentId);
    if (i >= 0) this.launched.splice(i, 1);
  }
  async stop(): Promise<void> {}
  /** The launched agent answers. */
  up(agentId: string): void {
    const agent = this.launched.find((a) => a.agentId === agentId);
    if (agent) agent.state = "running";
  }
}

const POOL = "workers";
const KEY = objectKey("default", POOL);

describe("PoolController", () => {
  let world: TestWorld;
  let launcher: MemoryLauncher;
  let pools: Informer<SandboxPoolSpec, SandboxPool["status"]>;
  let sandboxes: Informer<Sandbox["spec"], Sandbox["status"]>;
  let controller: PoolController;
  let abort: AbortController;
  let running: Array<Promise<void>>;

  beforeEach(async () => {
    world = await TestWorld.open();
    launcher = new MemoryLauncher(() => world.clock.now());
    abort = new AbortController();
    pools = new Informer(world.store, { kind: POOL_KIND, logger: world.logger });
    sandboxes = new Informer(world.store, { kind: SANDBOX_KIND, logger: world.logger });
    running = [pools.run(abort.signal), sandboxes.run(abort.signal)];
    await pools.waitForSync(abort.signal);
    await sandboxes.waitForSync(abort.signal);
    controller = new PoolController({
      store: world.store,
      pools,
      sandboxes,
      registry: world.registry,
      monitor: world.monitor,
      launcher,
      logger: world.logger,
      changes: world.changes,
      now: () => world.clock.now(),
      events: world.events,
    });
  });
  afterEach(async () => {
    abort.abort();
    await Promise.allSettled(running);
    await world.close();
  });

  /** Stores the pool and waits until the informer has it. */
  async function applyPool(spec: SandboxPoolSpec): Promise<void> {
    await world.store.create<SandboxPoolSpec, SandboxPool["status"]>({
      apiVersion: API_VERSION,
      kind: POOL_KIND,
      metadata: { name: POOL, namespace: "default" },
      spec,
    });
    await until(() => pools.get("default", POOL) !== undefined);
  }

  /** Brings every launched agent up as an in-memory agent of the pool. */
  async function bringUp(capacity = 2): Promise<void> {
    for (const a of launcher.launched.filter((l) => l.state === "starting")) {
      launcher.up(a.agentId);
      await world.addAgent(a.agentId, { pool: POOL, capacity });
    }
  }

  async function storedStatus(): Promise<SandboxPool["status"]> {
    await until(() => pools.get("default", POOL)?.status !== undefined);
    return (await world.store.get<SandboxPoolSpec, SandboxPool["status"]>(POOL_KIND, "default", POOL)).status;
  }

  it("launches poolMin agents, and not again while they start", async () => {
    await applyPool({ capacity: { poolMin: 2, poolMax: 4, bufferMin: 0, bufferMax: 4 } });
    await controller.reconcile(KEY);
    assert.equal(launcher.launched.length, 2);
    await controller.reconcile(KEY);
    assert.equal(launcher.launched.length, 2, "agents still starting count");
    assert.deepEqual(
      world.events.seen.map((e) => `${e.object} ${e.type} ${e.reason}: ${e.note}`),
      [`SandboxPool/${POOL} Normal ScalingUp: Launching 2 agents; want 2`],
      "one event for the launch, none while the agents start",
    );
    const status = await storedStatus();
    const scaling = status?.conditions?.find((c) => c.type === PoolCondition.Scaling);
    assert.equal(scaling?.reason, PoolReason.ScalingUp);
  });

  it("reports the pool Ready once poolMin agents answer", async () => {
    await applyPool({ capacity: { poolMin: 2, poolMax: 4, bufferMin: 0, bufferMax: 4 } });
    await controller.reconcile(KEY);
    await bringUp();
    await controller.reconcile(KEY);
    await until(() => pools.get("default", POOL)?.status?.readyAgents === 2);
    const status = await storedStatus();
    assert.equal(status?.currentAgents, 2);
    assert.deepEqual(
      status?.conditions?.map((c) => `${c.type}=${c.status}:${c.reason}`),
      ["Ready=True:MinimumAgentsReady", "Scaling=False:Stable"],
    );
  });

  it("scales up for creates that found no room, up to poolMax", async () => {
    await applyPool({
      capacity: { poolMin: 1, poolMax: 3, bufferMin: 0, bufferMax: 4 },
      maxSandboxesPerPod: 2,
    });
    await controller.reconcile(KEY);
    await bringUp();
    for (let i = 0; i < 10; i++) controller.needRoom("default", POOL, `sb-${i}`);
    assert.equal(controller.growth("default", POOL).kind, "growing");
    await controller.reconcile(KEY);
    assert.equal(launcher.launched.length, 3, "poolMax");
    const status = await storedStatus();
    assert.equal(
      status?.conditions?.find((c) => c.type === PoolCondition.Scaling)?.reason,
      PoolReason.ScalingUp,
    );
  });

  it("drains surplus idle agents, then removes them once empty", async () => {
    await applyPool({ capacity: { poolMin: 3, poolMax: 4, bufferMin: 0, bufferMax: 0 } });
    await controller.reconcile(KEY);
    await bringUp();
    await controller.reconcile(KEY);
    assert.equal(launcher.removed.length, 0);
    // The demand drops: poolMin goes down to 1.
    const pool = pools.get("default", POOL);
    if (!pool) throw new Error("no pool");
    await world.store.update({
      ...pool,
      spec: { ...pool.spec, capacity: { ...pool.spec.capacity, poolMin: 1 } },
    });
    await until(() => pools.get("default", POOL)?.spec.capacity.poolMin === 1);
    for (let pass = 0; pass < 3; pass++) await controller.reconcile(KEY);
    assert.equal(launcher.removed.length, 2);
    assert.equal(world.registry.agents().filter((a) => !a.draining).length, 1);
    const told = world.events.seen.map((e) => `${e.object} ${e.type} ${e.reason}: ${e.note}`);
    assert.deepEqual(told.slice(1), [
      `SandboxPool/${POOL} Normal ScalingDown: Draining ${launcher.removed.join(", ")}; want 1`,
      ...launcher.removed.map(
        (id) => `SandboxPool/${POOL} Normal AgentRemoved: Agent ${id} drained and empty; removing it`,
      ),
    ]);
  });

  it("warns of a pool whose spec does not validate, with the validation's message", async () => {
    await applyPool({ capacity: { poolMin: 5, poolMax: 2, bufferMin: 0, bufferMax: 4 } });
    await controller.reconcile(KEY);
    assert.equal(launcher.launched.length, 0);
    const [event] = world.events.seen;
    assert.equal(
      `${event?.object} ${event?.type} ${event?.reason}`,
      `SandboxPool/${POOL} Warning InvalidSpec`,
    );
    assert.match(event?.note ?? "", /poolMin/);
  });

  it("reports an invalid spec as Ready=False InvalidSpec once, scales nothing, and clears it when fixed", async () => {
    // The embedded store, like a server without CEL, takes a spec whose cross-field rule fails.
    await applyPool({ capacity: { poolMin: 5, poolMax: 2, bufferMin: 0, bufferMax: 4 } });
    await controller.reconcile(KEY);
    assert.equal(launcher.launched.length, 0, "nothing scales");
    const status = await storedStatus();
    const ready = status?.conditions?.find((c) => c.type === PoolCondition.Ready);
    assert.equal(ready?.status, "False");
    assert.equal(ready?.reason, PoolReason.InvalidSpec);
    assert.equal(ready?.message, "spec.capacity.poolMin: 5 is more than poolMax (2)");
    assert.equal(status?.observedGeneration, 1);

    const written = (await world.store.get(POOL_KIND, "default", POOL)).metadata.resourceVersion;
    await until(() => pools.get("default", POOL)?.metadata.resourceVersion === written);
    await world.clock.advance(60_000);
    await controller.reconcile(KEY);
    await controller.reconcile(KEY);
    const again = await world.store.get(POOL_KIND, "default", POOL);
    assert.equal(again.metadata.resourceVersion, written, "an unchanged reason is not written again");

    const pool = pools.get("default", POOL);
    if (!pool) throw new Error("no pool");
    await world.store.update({
      ...pool,
      spec: { ...pool.spec, capacity: { ...pool.spec.capacity, poolMax: 6 } },
    });
    await until(() => pools.get("default", POOL)?.spec.capacity.poolMax === 6);
    await controller.reconcile(KEY);
    assert.equal(launcher.launched.length, 5);
    await until(() => pools.get("default", POOL)?.status?.observedGeneration === 2);
    const fixed = (await storedStatus())?.conditions?.find((c) => c.type === PoolCondition.Ready);
    assert.equal(fixed?.reason, PoolReason.AgentsStarting, "the reason is gone once the spec is fixed");
  });

  it("pushes the pool's prewarm templates to every serving agent", async () => {
    await applyPool({
      capacity: { poolMin: 2, poolMax: 2, bufferMin: 0, bufferMax: 4 },
      prewarm: [{ image: "busybox:latest", count: 2 }],
    });
    await controller.reconcile(KEY);
    await bringUp();
    await controller.reconcile(KEY);
    for (const id of launcher.launched.map((a) => a.agentId)) {
      assert.deepEqual(world.agents.get(id)?.calls, ["prewarm 2"]);
    }
  });
});

/** Waits (in real time, briefly) until `ready` holds: informers see store writes through a watch. */
async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !ready(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(ready(), "condition not reached");
}

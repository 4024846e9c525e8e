// A full pool that can grow makes creates wait for its new agents instead of failing; one that
// cannot grow answers RESOURCE_EXHAUSTED at once, saying why; a client deadline shorter than a
// launch answers DEADLINE_EXCEEDED and leaves no record, slot or container.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { Labels } from "@fast-sandbox/api";
import { ConsistencyMode } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually } from "../harness/leftovers.ts";
import { rejectsWith } from "../harness/rpc-assert.ts";

const SLEEP = { image: "busybox", command: ["sleep", "600"] };
/** A pool with no agent at all until demand launches one: every create there waits for a launch. */
const EMPTY_POOL = "empty-pool";
/** A pool of one-slot agents, to show that an image no agent has launches nothing. */
const IMAGE_POOL = "image-pool";

/** Containers in the test namespace made for sandbox `name`. */
async function containersNamed(conn: ContainerdConnection, name: string): Promise<string[]> {
  const { containers } = await conn.containers.list({});
  return containers.filter((c) => c.labels[Labels.Name] === name).map((c) => c.id);
}

describe("a pool that grows", () => {
  let conn: ContainerdConnection;
  let ctl: ControllerProcess;

  before(async () => {
    conn = await testConnection();
    // One agent of 2 slots at start; up to 3 agents.
    ctl = await startControllerProcess({
      socketPath: conn.socketPath,
      localAgents: 1,
      capacity: 2,
      extraArgs: ["--pool-max", "3"],
    });
  });
  after(async () => {
    await ctl.cleanup();
    conn.close();
  });

  it("takes more concurrent creates than fit right after ready: they wait for the new agents, fast and strong", async () => {
    const fast = ["grow-f0", "grow-f1", "grow-f2", "grow-f3"];
    const strong = ["grow-s0", "grow-s1"];
    const results = await Promise.allSettled([
      ...fast.map((name) => ctl.client.createSandbox({ name, ...SLEEP })),
      ...strong.map((name) =>
        ctl.client.createSandbox({ name, ...SLEEP, consistencyMode: ConsistencyMode.STRONG }),
      ),
    ]);
    const failed = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
    assert.deepEqual(failed, [], "every create succeeds, only slower");
    const agents = results.map((r) => (r.status === "fulfilled" ? r.value.sandbox?.agent : undefined));
    assert.equal(new Set(agents).size, 3, `placed on ${JSON.stringify(agents)}`);
    for (const r of results) assert.equal(r.status === "fulfilled" && r.value.sandbox?.phase, "Running");
  });

  it("at poolMax with no room, answers RESOURCE_EXHAUSTED at once, saying the pool cannot grow", async () => {
    const started = Date.now();
    await rejectsWith(
      ctl.client.createSandbox({ name: "grow-over", ...SLEEP }),
      Code.ResourceExhausted,
      /all 3 agents are full \(6 of 6 slots used\); the pool has launched its maximum of 3 agents \(poolMax\)$/,
    );
    await rejectsWith(
      ctl.client.createSandbox({ name: "grow-over-s", ...SLEEP, consistencyMode: ConsistencyMode.STRONG }),
      Code.ResourceExhausted,
      /the pool has launched its maximum of 3 agents \(poolMax\)$/,
    );
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms: it waited`);
    await assert.rejects(ctl.client.getSandbox({ name: "grow-over-s" }));
  });

  it("a client deadline shorter than the launch: DEADLINE_EXCEEDED, and no record, slot or container is left", async () => {
    await ctl.pools.applyPool({
      name: EMPTY_POOL,
      spec: { capacity: { poolMin: 0, poolMax: 1, bufferMax: 0 }, maxSandboxesPerPod: 1 },
    });
    for (const [name, consistencyMode] of [
      ["late-fast", ConsistencyMode.FAST],
      ["late-strong", ConsistencyMode.STRONG],
    ] as const) {
      await rejectsWith(
        ctl.client.createSandbox(
          { name, ...SLEEP, poolRef: EMPTY_POOL, consistencyMode },
          { timeoutMs: 300 },
        ),
        Code.DeadlineExceeded,
      );
    }
    for (const name of ["late-fast", "late-strong"]) {
      const gone = await eventually(
        () =>
          ctl.client.getSandbox({ name }).then(
            () => false,
            () => true,
          ),
        Boolean,
      );
      assert.ok(gone, `${name} is still recorded`);
    }
    // The launch the demand asked for comes up, and holds nothing.
    const pool = await eventually(
      () => ctl.pools.getPool({ name: EMPTY_POOL }),
      (p) => p.readyAgents === 1,
      30_000,
    );
    assert.equal(pool.allocatedSlots, 0);
    assert.deepEqual(await containersNamed(conn, "late-fast"), []);
    assert.deepEqual(await containersNamed(conn, "late-strong"), []);
    // And a create without a short deadline now fits at once.
    const placed = await ctl.client.createSandbox({ name: "on-time", ...SLEEP, poolRef: EMPTY_POOL });
    assert.equal(placed.sandbox?.phase, "Running");
  });

  it("an image no agent has, in a full pool that could grow: FAILED_PRECONDITION at once, naming where it is, and no agent launched for it", async () => {
    // New local agents share the node's containerd: they cannot bring an image the present one lacks.
    await ctl.pools.applyPool({
      name: IMAGE_POOL,
      spec: { capacity: { poolMin: 1, poolMax: 2, bufferMin: 0, bufferMax: 0 }, maxSandboxesPerPod: 1 },
    });
    await eventually(
      () => ctl.pools.getPool({ name: IMAGE_POOL }),
      (p) => p.readyAgents === 1,
      30_000,
    );
    await ctl.client.createSandbox({ name: "img-full", ...SLEEP, poolRef: IMAGE_POOL });
    const started = Date.now();
    for (const [name, consistencyMode] of [
      ["img-fast", ConsistencyMode.FAST],
      ["img-strong", ConsistencyMode.STRONG],
    ] as const) {
      await rejectsWith(
        ctl.client.createSandbox({
          name,
          image: "localhost/not-loaded:1",
          command: ["sleep", "600"],
          poolRef: IMAGE_POOL,
          consistencyMode,
        }),
        Code.FailedPrecondition,
        /^image: image localhost\/not-loaded:1 is not on any agent of pool "image-pool" in namespace "default"; no agent of any pool has it; agents do not pull images/,
      );
    }
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms: it waited for room`);
    // The refused creates were no demand: the pool stays at one agent.
    await new Promise((r) => setTimeout(r, 2500));
    const pool = await ctl.pools.getPool({ name: IMAGE_POOL });
    assert.equal(pool.currentAgents, 1);
    await ctl.client.deleteSandbox({ name: "img-full", gracePeriodSeconds: 0 });
  });
});

// Elastic pools with real local agents: scale-up under load, drain-before-remove on scale-down, a
// SIGKILLed agent replaced, and image affinity across two pools with different images.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ConsistencyMode } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import type { PoolInfo } from "../../packages/api/gen/fastsandbox/v1/pool_pb.ts";
import { BadRequestSchema } from "../../packages/api/gen/google/rpc/error_details_pb.ts";
import { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { PrivateContainerd } from "../../packages/server/src/standalone/private-containerd.ts";
import { TEST_IMAGE_TAR } from "../harness/constants.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually, processRuns, withoutAnchors } from "../harness/leftovers.ts";

const root = path.resolve(import.meta.dirname, "../..");
const isCode = (code: Code) => (err: unknown) => err instanceof ConnectError && err.code === code;

/** A refusal with `code` that names `field` as data (the BadRequest detail) and says `message`. */
const refusal = (code: Code, field: string, message: RegExp) => (err: unknown) => {
  assert.ok(err instanceof ConnectError, String(err));
  assert.equal(err.code, code, err.message);
  const fields = err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
  assert.deepEqual(fields, [field]);
  assert.match(err.rawMessage, message);
  return true;
};

async function statePids(ctl: ControllerProcess): Promise<Map<string, number>> {
  const raw = JSON.parse(
    await readFile(path.join(ctl.dataDir, "agents/local-agents.json"), "utf8"),
  ) as Array<{
    agentId: string;
    pid: number;
  }>;
  return new Map(raw.map((a) => [a.agentId, a.pid]));
}

async function pool(ctl: ControllerProcess, name = "default-pool"): Promise<PoolInfo> {
  return ctl.pools.getPool({ name });
}

function longRunning(name: string, extra: Record<string, unknown> = {}) {
  return { name, image: "busybox", command: ["sleep", "3600"], ...extra };
}

describe("elastic pool", () => {
  let conn: ContainerdConnection;
  let ctl: ControllerProcess;

  before(async () => {
    conn = await testConnection();
    // 1 to 3 agents of 2 slots; drain when more than 2 slots sit idle.
    ctl = await startControllerProcess({
      socketPath: conn.socketPath,
      localAgents: 1,
      capacity: 2,
      extraArgs: ["--pool-max", "3", "--pool-buffer-max", "2"],
    });
  });
  after(async () => {
    await ctl.cleanup();
    conn.close();
  });

  it("starts at poolMin and reports it in the pool's status", async () => {
    const info = await eventually(
      () => pool(ctl),
      (p) => p.readyAgents === 1,
    );
    assert.equal(info.currentAgents, 1);
    assert.equal(info.totalSlots, 2);
    assert.equal(info.spec?.capacity?.poolMax, 3);
    assert.equal(info.observedGeneration, info.generation);
    assert.equal(info.conditions.find((c) => c.type === "Ready")?.status, "True");
    assert.deepEqual(
      info.agents.map((a) => a.id),
      [`${ctl.agentPrefix}-0`],
    );
  });

  it("scales up under load: strong creates wait Pending while agents are launched, then all run", async () => {
    const names = ["load-0", "load-1", "load-2", "load-3", "load-4"];
    const created = await Promise.all(
      names.map((name) =>
        ctl.client.createSandbox({ ...longRunning(name), consistencyMode: ConsistencyMode.STRONG }),
      ),
    );
    for (const res of created) assert.equal(res.sandbox?.phase, "Running");
    const info = await eventually(
      () => pool(ctl),
      (p) => p.readyAgents === 3 && p.allocatedSlots === 5,
    );
    assert.equal(info.currentAgents, 3);
    assert.equal(info.totalSlots, 6);
    assert.equal(new Set(created.map((c) => c.sandbox?.agent)).size, 3);
  });

  it("scales down by draining: a running sandbox is never killed, and its agent goes once it is empty", async () => {
    // Leave one sandbox on each of the 3 agents: 3 of 6 slots, so the pool wants 2 agents and,
    // with more than 2 slots idle, drains one that still runs a sandbox.
    const { sandboxes } = await ctl.client.listSandboxes({});
    const byAgent = new Map<string, string[]>();
    for (const s of sandboxes) byAgent.set(s.agent, [...(byAgent.get(s.agent) ?? []), s.name]);
    assert.equal(byAgent.size, 3);
    for (const names of byAgent.values()) {
      for (const name of names.slice(1)) await ctl.client.deleteSandbox({ name, gracePeriodSeconds: 0 });
    }
    const draining = await eventually(
      () => pool(ctl),
      (p) => p.agents.some((a) => a.draining),
      60_000,
    );
    const drained = draining.agents.find((a) => a.draining);
    assert.ok(drained, JSON.stringify(draining.agents));
    assert.equal(drained.allocated, 1);
    const keeper = byAgent.get(drained.id)![0]!;
    const keeperBefore = await ctl.client.getSandbox({ name: keeper });
    // It keeps draining while its sandbox runs, and its process stays.
    await new Promise((r) => setTimeout(r, 2000));
    const pids = await statePids(ctl);
    assert.ok(processRuns(pids.get(drained.id)!), "the draining agent still runs");
    const still = await ctl.client.getSandbox({ name: keeper });
    assert.equal(still.phase, "Running");
    assert.equal(still.sandboxId, keeperBefore.sandboxId, "the same container, not a recreation");
    const task = await conn.tasks.get({ containerId: still.sandboxId });
    assert.ok((task.process?.pid ?? 0) > 0);
    assert.ok((await pool(ctl)).agents.some((a) => a.id === drained.id && a.draining));
    // New sandboxes go elsewhere while it drains.
    const fresh = await ctl.client.createSandbox(longRunning("fresh"));
    assert.notEqual(fresh.sandbox?.agent, drained.id);

    await ctl.client.deleteSandbox({ name: keeper, gracePeriodSeconds: 0 });
    const after = await eventually(
      () => pool(ctl),
      (p) => !p.agents.some((a) => a.id === drained.id),
      60_000,
    );
    assert.ok(!after.agents.some((a) => a.id === drained.id), JSON.stringify(after.agents));
    const stopped = await eventually(
      () => processRuns(pids.get(drained.id)!),
      (runs) => !runs,
    );
    assert.equal(stopped, false, "the drained agent's process is stopped");
    for (const s of (await ctl.client.listSandboxes({})).sandboxes) {
      await ctl.client.deleteSandbox({ name: s.name, gracePeriodSeconds: 0 });
    }
  });

  it("replaces an agent killed with SIGKILL; its sandbox is re-adopted and keeps running", async () => {
    const res = await ctl.client.createSandbox(longRunning("survivor"));
    const agentId = res.sandbox!.agent;
    const oldPid = (await statePids(ctl)).get(agentId)!;
    process.kill(oldPid, "SIGKILL");
    const newPid = await eventually(
      async () => (await statePids(ctl)).get(agentId),
      (pid) => pid !== undefined && pid !== oldPid && processRuns(pid),
      60_000,
    );
    assert.notEqual(newPid, oldPid);
    const info = await eventually(
      () => pool(ctl),
      (p) => p.agents.some((a) => a.id === agentId && a.healthy && a.allocated === 1),
      60_000,
    );
    assert.ok(info.agents.find((a) => a.id === agentId)?.healthy);
    const sandbox = await ctl.client.getSandbox({ name: "survivor" });
    assert.equal(sandbox.phase, "Running");
    assert.equal(sandbox.sandboxId, res.sandbox?.sandboxId);
    await ctl.client.deleteSandbox({ name: "survivor", gracePeriodSeconds: 0 });
  });

  it("writes the status only when it changed", async () => {
    const first = await eventually(
      () => pool(ctl),
      (p) => p.conditions.find((c) => c.type === "Scaling")?.reason === "Stable",
      60_000,
    );
    await new Promise((r) => setTimeout(r, 2500));
    const second = await pool(ctl);
    // Under load an agent may miss probes and the status then rightly changes; the property is
    // that an unchanged status was not rewritten.
    const view = (p: PoolInfo) =>
      JSON.stringify({
        counts: [
          p.currentAgents,
          p.readyAgents,
          p.totalSlots,
          p.allocatedSlots,
          String(p.observedGeneration),
        ],
        conditions: p.conditions.map((c) => [
          c.type,
          c.status,
          c.reason,
          c.message,
          String(c.lastTransitionTime?.seconds),
        ]),
      });
    if (view(second) === view(first)) assert.equal(second.resourceVersion, first.resourceVersion);
    else assert.notEqual(second.resourceVersion, first.resourceVersion);
  });

  it("rejects a bad pool spec naming the field, and applies a good one idempotently", async () => {
    await assert.rejects(
      ctl.pools.applyPool({ name: "bad", spec: { capacity: { poolMin: 3, poolMax: 1 } } }),
      (err: unknown) => isCode(Code.InvalidArgument)(err) && /spec\.capacity\.poolMin/.test(String(err)),
    );
    await assert.rejects(
      ctl.pools.applyPool({ name: "Bad_Name", spec: {} }),
      (err: unknown) => isCode(Code.InvalidArgument)(err) && /name/.test(String(err)),
    );
    const spec = { capacity: { poolMin: 0, poolMax: 1 }, maxSandboxesPerPod: 1 };
    const first = await ctl.pools.applyPool({ name: "idle-pool", spec });
    assert.equal(first.created, true);
    const again = await ctl.pools.applyPool({ name: "idle-pool", spec });
    assert.equal(again.created, false);
    assert.equal(again.changed, false);
    const { pools } = await ctl.pools.listPools({});
    assert.deepEqual(
      pools.map((p) => p.name),
      ["default-pool", "idle-pool"],
    );
    await ctl.pools.deletePool({ name: "idle-pool" });
    await assert.rejects(ctl.pools.getPool({ name: "idle-pool" }), isCode(Code.NotFound));
  });
});

describe("two pools with different images", () => {
  const OTHER_NS = `fsb-test-pool-b-${process.pid}`;
  const TOOLS = "localhost/tools";
  let conn: ContainerdConnection;
  let other: ContainerdConnection;
  let ctl: ControllerProcess;

  before(async () => {
    conn = await testConnection();
    // Pool b's agents use another containerd namespace that holds only `localhost/tools`.
    await PrivateContainerd.importImageTo(conn.socketPath, path.join(root, TEST_IMAGE_TAR), TOOLS, OTHER_NS);
    other = new ContainerdConnection({ socketPath: conn.socketPath, namespace: OTHER_NS });
    ctl = await startControllerProcess({ socketPath: conn.socketPath, localAgents: 1, capacity: 2 });
    await ctl.pools.applyPool({
      name: "pool-b",
      spec: { capacity: { poolMin: 1, poolMax: 1 }, maxSandboxesPerPod: 2 },
      annotations: { "sandbox.fast.io/containerd-namespace": OTHER_NS },
    });
    await eventually(
      () => ctl.pools.getPool({ name: "pool-b" }),
      (p) => p.readyAgents === 1,
      30_000,
    );
  });
  after(async () => {
    await ctl.cleanup();
    // Its image stays in the run's private containerd, which the runner removes as a whole.
    other.close();
    conn.close();
  });

  it("places each image only on the pool whose agents have it", async () => {
    const a = await ctl.client.createSandbox(longRunning("on-a"));
    assert.equal(a.sandbox?.agent, `${ctl.agentPrefix}-0`);
    const b = await ctl.client.createSandbox({
      ...longRunning("on-b"),
      image: `${TOOLS}:latest`,
      poolRef: "pool-b",
    });
    assert.equal(b.sandbox?.agent, `${ctl.agentPrefix}-pool-b-0`);
    assert.equal(b.sandbox?.phase, "Running");
    const task = await other.tasks.get({ containerId: b.sandbox!.sandboxId });
    assert.ok(task.process);
    await assert.rejects(
      ctl.client.createSandbox({ ...longRunning("tools-on-a"), image: `${TOOLS}:latest` }),
      refusal(
        Code.FailedPrecondition,
        "image",
        /^image: image localhost\/tools:latest is not on any agent of pool "default-pool" in namespace "default"; it is on pool "pool-b" \(node [^)]+\); agents do not pull images/,
      ),
    );
    await assert.rejects(
      ctl.client.createSandbox({ ...longRunning("busybox-on-b"), poolRef: "pool-b" }),
      refusal(
        Code.FailedPrecondition,
        "image",
        /pool "pool-b" in namespace "default"; it is on pool "default-pool" \(node /,
      ),
    );
    await ctl.client.deleteSandbox({ name: "on-a", gracePeriodSeconds: 0 });
    await ctl.client.deleteSandbox({ name: "on-b", gracePeriodSeconds: 0 });
    await eventually(
      // Pool b's agent still runs, so its shim anchor stays: every other container goes.
      async () => withoutAnchors((await other.containers.list({})).containers).length,
      (n) => n === 0,
    );
  });

  it("a pool that is not in the sandbox's namespace is FAILED_PRECONDITION on poolRef, fast and strong, and leaves nothing", async () => {
    for (const consistencyMode of [ConsistencyMode.FAST, ConsistencyMode.STRONG]) {
      await assert.rejects(
        ctl.client.createSandbox({ ...longRunning("nowhere"), poolRef: "no-such-pool", consistencyMode }),
        refusal(
          Code.FailedPrecondition,
          "poolRef",
          /^poolRef: pool "no-such-pool" does not exist in namespace "default"$/,
        ),
      );
      await assert.rejects(
        ctl.client.createSandbox({
          ...longRunning("elsewhere"),
          namespace: "team-x",
          poolRef: "pool-b",
          consistencyMode,
        }),
        refusal(
          Code.FailedPrecondition,
          "poolRef",
          /^poolRef: pool "pool-b" does not exist in namespace "team-x"; a pool of that name exists in namespace "default", but pools serve only sandboxes of their own namespace$/,
        ),
      );
    }
    const { sandboxes } = await ctl.client.listSandboxes({ namespace: "*" });
    assert.deepEqual(
      sandboxes.map((s) => s.name).filter((n) => n === "nowhere" || n === "elsewhere"),
      [],
    );
  });
});

// A pool's prewarm templates through the whole system: the pool controller hands them to its agents,
// the registry sends a matching create to an agent holding a ready container, and the agent refills.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Labels } from "@fast-sandbox/api";
import type { PoolInfo } from "../../packages/api/gen/fastsandbox/v1/pool_pb.ts";
import { Status } from "../../packages/server/gen/containerd/types/task_pb.ts";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually } from "../harness/leftovers.ts";

const COMMAND = ["sleep", "3600"];

describe("prewarmed pool", () => {
  let conn: ContainerdConnection;
  let ctl: ControllerProcess;
  const readyOf = (p: PoolInfo) => p.agents.reduce((n, a) => n + a.prewarmReady, 0);

  before(async () => {
    conn = await testConnection();
    ctl = await startControllerProcess({ socketPath: conn.socketPath, localAgents: 2, capacity: 3 });
    const { pool } = await ctl.pools.applyPool({
      name: "default-pool",
      spec: {
        capacity: { poolMin: 2, poolMax: 2 },
        maxSandboxesPerPod: 3,
        prewarm: [{ image: "busybox", command: COMMAND, count: 1 }],
      },
    });
    assert.equal(pool?.spec?.prewarm.length, 1);
  });
  after(async () => {
    // Dropping the template makes the agents remove their prewarmed containers before they stop.
    await ctl.pools
      .applyPool({
        name: "default-pool",
        spec: { capacity: { poolMin: 2, poolMax: 2 }, maxSandboxesPerPod: 3 },
      })
      .catch(() => {});
    await eventually(
      async () => (await conn.containers.list({})).containers.filter((c) => c.id.startsWith("pw-")).length,
      (n) => n === 0,
      20_000,
    );
    await ctl.cleanup();
    conn.close();
  });

  it("every agent holds the template's containers, created but not started", async () => {
    const pool = await eventually(
      () => ctl.pools.getPool({ name: "default-pool" }),
      (p) => p.agents.length === 2 && p.agents.every((a) => a.prewarmReady === 1),
      20_000,
    );
    assert.equal(readyOf(pool), 2);
    const ours = (await conn.containers.list({})).containers.filter(
      (c) => c.labels[Labels.Agent]?.startsWith(ctl.agentPrefix) && c.id.startsWith("pw-"),
    );
    assert.equal(ours.length, 2);
    for (const c of ours) {
      const task = await conn.tasks.get({ containerId: c.id });
      assert.equal(task.process?.status, Status.CREATED, `prewarmed ${c.id} is not started`);
    }
  });

  it("a matching create takes a prewarmed container and the agent refills", async () => {
    const res = await ctl.client.createSandbox({ name: "warm", image: "busybox", command: COMMAND });
    const sandbox = res.sandbox!;
    assert.equal(sandbox.phase, "Running");
    // The container keeps its prewarm id; its labels now name the sandbox.
    const containers = (await conn.containers.list({})).containers;
    const taken = containers.find((c) => c.labels[Labels.SandboxId] === sandbox.sandboxId);
    assert.ok(taken, "a container labelled with the sandbox id");
    assert.ok(taken.id.startsWith("pw-"), `took prewarmed container ${taken.id}`);
    assert.equal(taken.labels[Labels.Name], "warm");
    const task = await conn.tasks.get({ containerId: taken.id });
    assert.equal(task.process?.status, Status.RUNNING);
    const refilled = await eventually(
      () => ctl.pools.getPool({ name: "default-pool" }),
      (p) => readyOf(p) === 2,
      20_000,
    );
    assert.equal(readyOf(refilled), 2);
  });

  it("a create that differs from the template takes the normal path", async () => {
    const res = await ctl.client.createSandbox({
      name: "cold",
      image: "busybox",
      command: ["sleep", "3601"],
    });
    const sandbox = res.sandbox!;
    const container = (await conn.containers.list({})).containers.find(
      (c) => c.labels[Labels.SandboxId] === sandbox.sandboxId,
    );
    assert.equal(container?.id, sandbox.sandboxId);
    await ctl.client.deleteSandbox({ name: "cold", gracePeriodSeconds: 0 });
    await ctl.client.deleteSandbox({ name: "warm", gracePeriodSeconds: 0 });
    await eventually(
      async () => (await ctl.client.listSandboxes({})).sandboxes.length,
      (n) => n === 0,
    );
  });
});

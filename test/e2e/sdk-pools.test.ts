// `fsb.pools` against a real controller: apply, get, list, delete, and the typed errors of the pool API.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FastSandbox, FastSandboxError, InvalidArgumentError, NotFoundError } from "@fast-sandbox/sdk";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually } from "../harness/leftovers.ts";

/** A pool's agents are local processes: up in a second or two, well within this. */
const AGENT_UP_MS = 30_000;

describe("SDK pools", () => {
  let conn: ContainerdConnection;
  let ctl: ControllerProcess;
  let fsb: FastSandbox;

  before(async () => {
    conn = await testConnection();
    ctl = await startControllerProcess({ socketPath: conn.socketPath, localAgents: 1, capacity: 2 });
    fsb = new FastSandbox({ endpoint: ctl.url, token: ctl.token });
  });
  after(async () => {
    await ctl.cleanup();
    conn.close();
  });

  it("applies a pool, reads it back with defaults and an agent, lists and deletes it", async () => {
    const first = await fsb.pools.apply({
      apiVersion: "sandbox.fast.io/v1alpha1",
      kind: "SandboxPool",
      metadata: { name: "sdk-pool", labels: { team: "a" } },
      spec: { capacity: { poolMin: 1, poolMax: 2 }, maxSandboxesPerPod: 2 },
    });
    assert.equal(first.outcome, "created");
    assert.deepEqual(first.pool.spec, {
      capacity: { poolMin: 1, poolMax: 2, bufferMin: 0, bufferMax: 10 },
      maxSandboxesPerPod: 2,
      runtimeType: "container",
      prewarm: [],
      agentTemplate: undefined,
      network: { mode: "isolated", egress: undefined, allowSandboxOverride: false },
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.deepEqual(first.pool.labels, { team: "a" });
    assert.ok(first.pool.createdAt instanceof Date);

    const again = await fsb.pools.apply({
      name: "sdk-pool",
      labels: { team: "a" },
      spec: { capacity: { poolMin: 1, poolMax: 2 }, maxSandboxesPerPod: 2 },
    });
    assert.equal(again.outcome, "unchanged");

    const pool = await eventually(
      () => fsb.pools.get("sdk-pool"),
      (p) => p.status.readyAgents >= 1 && p.agents.length >= 1,
      AGENT_UP_MS,
    );
    assert.deepEqual(
      { healthy: pool.agents[0]!.healthy, capacity: pool.agents[0]!.capacity },
      { healthy: true, capacity: 2 },
    );
    assert.ok(
      pool.status.conditions.some((c) => c.type === "Ready"),
      JSON.stringify(pool.status),
    );

    // New labels alone are a change too.
    const relabelled = await fsb.pools.apply({
      name: "sdk-pool",
      labels: { team: "b" },
      spec: { capacity: { poolMin: 1, poolMax: 2 }, maxSandboxesPerPod: 2 },
    });
    assert.equal(relabelled.outcome, "configured");
    assert.deepEqual(relabelled.pool.labels, { team: "b" });

    const names = (await fsb.pools.list()).map((p) => p.name).sort();
    assert.deepEqual(names, ["default-pool", "sdk-pool"]);
    assert.ok((await fsb.pools.list({ allNamespaces: true })).some((p) => p.name === "sdk-pool"));
    assert.deepEqual(await fsb.pools.list({ namespace: "elsewhere" }), []);

    await fsb.pools.delete("sdk-pool");
    const gone = await eventually(
      () =>
        fsb.pools.get("sdk-pool").then(
          () => false,
          (err) => err instanceof NotFoundError,
        ),
      (isGone) => isGone,
      AGENT_UP_MS,
    );
    assert.ok(gone, "the deleted pool goes once its agents are stopped");
  });

  it("maps the pool API's errors to typed errors with hints", async () => {
    await assert.rejects(fsb.pools.get("nope"), (err: unknown) => {
      assert.ok(err instanceof NotFoundError, String(err));
      assert.match(err.hint ?? "", /fsb-ctl pools list -A/);
      return true;
    });
    await assert.rejects(
      fsb.pools.apply({ name: "inverted", spec: { capacity: { poolMin: 3, poolMax: 2 } } }),
      (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError, String(err));
        assert.equal(err.field, "spec.capacity.poolMin");
        return true;
      },
    );
    await assert.rejects(fsb.pools.apply({ name: "Not_A_Name" }), InvalidArgumentError);

    const box = await fsb.sandboxes.create({ name: "busy", image: "busybox", command: ["sleep", "600"] });
    await assert.rejects(fsb.pools.delete("default-pool"), (err: unknown) => {
      assert.ok(err instanceof FastSandboxError, String(err));
      assert.equal(err.code, "failed_precondition");
      assert.match(err.hint ?? "", /--force/);
      return true;
    });
    await box.delete({ gracePeriodSeconds: 0, wait: true });
  });
});

// The Fast-Path service over in-memory agents, a temporary SQLite store and the real reconciler:
// fast and strong creates, a failed agent, no room, and a delete that completes.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import {
  API_VERSION,
  ErrorCode,
  FsbError,
  SANDBOX_FINALIZER,
  SANDBOX_KIND,
  type Sandbox,
  SandboxPhase,
  type SandboxSpec,
} from "@fast-sandbox/api";
import { connectCodeFor } from "../api-server/error-codes.ts";
import { AgentCallError } from "./agent-call-error.ts";
import { FastPath } from "./fast-path.ts";
import { agentError } from "./memory-agent.ts";
import type { SandboxReconciler } from "./sandbox/reconciler.ts";
import { TestWorld } from "./test-world.ts";

const isCode = (code: ErrorCode) => (err: FsbError) => err.code === code;

describe("FastPath", () => {
  let world: TestWorld;
  let reconciler: SandboxReconciler;
  let fastPath: FastPath;
  /** Reconciles started by the service's enqueue, and what they threw. */
  let runs: Array<Promise<unknown>>;
  let enqueued: string[];

  beforeEach(async () => {
    world = await TestWorld.open();
    reconciler = world.reconciler();
    runs = [];
    enqueued = [];
    fastPath = new FastPath({
      store: world.store,
      registry: world.registry,
      monitor: world.monitor,
      waiters: world.waiters,
      enqueue: (key) => {
        enqueued.push(key);
        runs.push(reconciler.reconcile(key).catch((err: unknown) => err));
      },
      logger: world.logger,
      metrics: world.metrics,
      defaultMode: "fast",
      orphanTimeoutMs: 30_000,
      recordBeforeReply: world.store.writesAreLocal,
      changes: world.changes,
      poolCatalog: world.poolCatalog,
      clock: world.clock,
      events: world.events,
    });
  });
  afterEach(async () => {
    await Promise.all(runs);
    await world.close();
  });

  it("fast create: answers Running, and the object is stored before the reply", async () => {
    const a1 = await world.addAgent("a1");
    const { sandbox, created } = await fastPath.create({ name: "web", spec: { image: "busybox" } });
    assert.equal(created, true);
    assert.equal(sandbox.status.phase, SandboxPhase.Running);
    assert.equal(sandbox.status.observedGeneration, 1);
    assert.deepEqual(a1.calls, [`create ${sandbox.status.sandboxID}`]);
    const stored = await world.sandbox("default/web");
    assert.equal(stored?.status?.phase, SandboxPhase.Running);
    assert.equal(stored?.status?.sandboxID, sandbox.status.sandboxID);
    assert.deepEqual(enqueued, ["default/web"]);
    await Promise.all(runs);
    // The reconciler finds nothing to change.
    assert.equal(
      (await world.sandbox("default/web"))?.metadata.resourceVersion,
      stored?.metadata.resourceVersion,
    );
    // No reconciler write tells the placement and the start: the create itself does, once stored.
    assert.deepEqual(
      world.events.seen
        .filter((e) => e.object === "Sandbox/web")
        .map((e) => `${e.type} ${e.reason}: ${e.note}`),
      ["Normal Scheduled: Placed on agent a1", "Normal Started: Started on agent a1"],
    );
  });

  it("fast create: a create again with the same spec answers the existing sandbox", async () => {
    await world.addAgent("a1");
    const first = await fastPath.create({ name: "web", spec: { image: "busybox" } });
    const again = await fastPath.create({ name: "web", spec: { image: "busybox" } });
    assert.equal(again.created, false);
    assert.equal(again.sandbox.status?.sandboxID, first.sandbox.status.sandboxID);
  });

  it("fast create: moves once to another agent when the first provably created nothing", async () => {
    const a1 = await world.addAgent("a1", { capacity: 8 });
    const a2 = await world.addAgent("a2", { capacity: 1 });
    a1.failCreates.push(agentError(ErrorCode.Unavailable, "refused", "not-sent"));
    const { sandbox } = await fastPath.create({ name: "web", spec: { image: "busybox" } });
    assert.equal(sandbox.status.phase, SandboxPhase.Running);
    assert.equal(sandbox.status.assignedAgent, "a2");
    assert.match(sandbox.status.conditions?.[0]?.message ?? "", /^placed on agent a2 after agent a1 failed/);
    assert.deepEqual(a2.calls, [`create ${sandbox.status.sandboxID}`]);
  });

  it("fast create: no agent with room is RESOURCE_EXHAUSTED, and nothing is stored", async () => {
    await world.addAgent("a1", { capacity: 1 });
    await fastPath.create({ name: "one", spec: { image: "busybox" } });
    await assert.rejects(
      fastPath.create({ name: "two", spec: { image: "busybox" } }),
      isCode(ErrorCode.ResourceExhausted),
    );
    assert.equal(await world.sandbox("default/two"), undefined);
  });

  for (const consistencyMode of ["fast", "strong"] as const) {
    it(`${consistencyMode} create: a pool that does not exist is FAILED_PRECONDITION on poolRef, and nothing is stored`, async () => {
      const a1 = await world.addAgent("a1");
      await world.addAgent("b1", { pool: "gpu", namespace: "team-b" });
      await assert.rejects(
        fastPath.create({ name: "web", spec: { image: "busybox", poolRef: "gpu" }, consistencyMode }),
        (err: FsbError) =>
          err.code === ErrorCode.FailedPrecondition &&
          err.field === "poolRef" &&
          /pool "gpu" does not exist in namespace "default"; a pool of that name exists in namespace "team-b"/.test(
            err.message,
          ),
      );
      await Promise.all(runs);
      assert.equal(await world.sandbox("default/web"), undefined);
      assert.deepEqual(a1.calls, []);
      assert.equal(world.registry.allocations().length, 0);
    });
  }

  for (const consistencyMode of ["fast", "strong"] as const) {
    it(`${consistencyMode} create: a declared port in use on the node is FAILED_PRECONDITION on that port, tried on no other agent, nothing left`, async () => {
      const a1 = await world.addAgent("a1", { capacity: 8 });
      const a2 = await world.addAgent("a2", { capacity: 1 });
      a1.failCreates.push(
        new AgentCallError(ErrorCode.FailedPrecondition, "port 8080 is already in use on node n1", {
          delivery: "answered",
          field: "sandbox.exposedPorts[1]",
        }),
      );
      await assert.rejects(
        fastPath.create({
          name: "web",
          spec: { image: "busybox", exposedPorts: [9000, 8080] },
          consistencyMode,
        }),
        (err: FsbError) =>
          err.code === ErrorCode.FailedPrecondition &&
          err.field === "exposedPorts[1]" &&
          err.message === "exposedPorts[1]: port 8080 is already in use on node n1",
      );
      await Promise.all(runs);
      assert.equal(a1.calls.length, 1);
      assert.deepEqual(a2.calls, []);
      assert.equal(await world.sandbox("default/web"), undefined);
      assert.equal(world.registry.allocations().length, 0);
    });
  }

  it("strong create: answers once the reconciler reports Running", async () => {
    const a1 = await world.addAgent("a1");
    const { sandbox } = await fastPath.create({
      name: "web",
      spec: { image: "busybox" },
      consistencyMode: "strong",
    });
    assert.equal(sandbox.status?.phase, SandboxPhase.Running);
    assert.deepEqual(a1.calls, [`create ${sandbox.status?.sandboxID}`]);
  });

  it("strong create: a wrong request answers the agent's error and leaves nothing behind", async () => {
    const a1 = await world.addAgent("a1");
    a1.failCreates.push(agentError(ErrorCode.InvalidArgument, "command: not found in the image"));
    await assert.rejects(
      fastPath.create({ name: "web", spec: { image: "busybox" }, consistencyMode: "strong" }),
      isCode(ErrorCode.InvalidArgument),
    );
    await Promise.all(runs);
    assert.equal(await world.sandbox("default/web"), undefined);
    assert.equal(world.registry.allocations().length, 0);
  });

  it("delete: the reconciler removes the container, then the object", async () => {
    const a1 = await world.addAgent("a1");
    const { sandbox } = await fastPath.create({ name: "web", spec: { image: "busybox" } });
    await Promise.all(runs);
    await fastPath.delete("default", "web", 0);
    await Promise.all(runs);
    assert.equal(await world.sandbox("default/web"), undefined);
    const id = sandbox.status.sandboxID;
    assert.deepEqual(a1.calls, [`create ${id}`, `delete ${id}`]);
    await assert.rejects(fastPath.get("default", "web"), isCode(ErrorCode.NotFound));
  });

  describe("updates that could not take effect are refused, naming the field", () => {
    const refused = (field: string, message: RegExp) => (err: FsbError) =>
      err.code === ErrorCode.FailedPrecondition && err.field === field && message.test(err.rawMessage);

    it("an Expired sandbox: no reset, no new or cleared expiry; labels still change", async () => {
      await world.addAgent("a1");
      const expireTime = new Date(world.clock.now() + 1000).toISOString();
      await fastPath.create({ name: "web", spec: { image: "busybox", expireTime } });
      await Promise.all(runs);
      await world.clock.advance(1000);
      await reconciler.reconcile("default/web");
      assert.equal((await world.sandbox("default/web"))?.status?.phase, SandboxPhase.Expired);
      const later = new Date(world.clock.now() + 3_600_000).toISOString();
      await assert.rejects(
        fastPath.update({ name: "web", reset: true }),
        refused("reset", /^the sandbox is Expired: its container is gone; create a new sandbox$/),
      );
      await assert.rejects(
        fastPath.update({ name: "web", expireTime: later }),
        refused("expireTime", /^the sandbox is Expired/),
      );
      await assert.rejects(
        fastPath.update({ name: "web", clearExpireTime: true }),
        refused("clearExpireTime", /^the sandbox is Expired/),
      );
      const labelled = await fastPath.update({ name: "web", labels: { team: "a" } });
      assert.deepEqual(labelled.metadata.labels, { team: "a" });
      const stored = await world.sandbox("default/web");
      assert.equal(stored?.status?.phase, SandboxPhase.Expired);
      assert.equal(stored?.spec.expireTime, expireTime);
      assert.equal(stored?.spec.resetRevision, undefined);
    });

    it("a sandbox being deleted: a reset names the field", async () => {
      await world.addAgent("a1");
      await fastPath.create({ name: "web", spec: { image: "busybox" } });
      await Promise.all(runs);
      // Marked for deletion; the reconciler has not finished it yet.
      await world.store.delete(SANDBOX_KIND, "default", "web");
      await assert.rejects(fastPath.update({ name: "web", reset: true }), refused("reset", /Terminating/));
      await assert.rejects(
        fastPath.update({ name: "web", labels: { team: "a" } }),
        (err: FsbError) => err.code === ErrorCode.FailedPrecondition && /being deleted/.test(err.message),
      );
    });

    it("a Succeeded sandbox can be reset", async () => {
      const a1 = await world.addAgent("a1");
      const { sandbox } = await fastPath.create({ name: "job", spec: { image: "busybox" } });
      await Promise.all(runs);
      a1.exit(sandbox.status.sandboxID ?? "", 0);
      await world.clock.advance(1);
      await world.monitor.probe("a1");
      await reconciler.reconcile("default/job");
      assert.equal((await world.sandbox("default/job"))?.status?.phase, SandboxPhase.Succeeded);
      await world.clock.advance(1);
      await fastPath.update({ name: "job", reset: true });
      await Promise.all(runs);
      const again = await world.sandbox("default/job");
      assert.equal(again?.status?.phase, SandboxPhase.Running);
      assert.notEqual(again?.status?.sandboxID, sandbox.status.sandboxID);
    });
  });

  it("refuses an expireTime at or before the controller's time on create and update, naming it", async () => {
    await world.addAgent("a1");
    const now = new Date(world.clock.now()).toISOString();
    const namesExpireTime = (err: FsbError) =>
      isCode(ErrorCode.InvalidArgument)(err) && err.field === "expireTime";
    await assert.rejects(
      fastPath.create({ name: "old", spec: { image: "busybox", expireTime: now } }),
      namesExpireTime,
    );
    assert.equal(await world.sandbox("default/old"), undefined);
    await fastPath.create({ name: "web", spec: { image: "busybox" } });
    await assert.rejects(fastPath.update({ name: "web", expireTime: now }), namesExpireTime);
    const later = new Date(world.clock.now() + 1).toISOString();
    const updated = await fastPath.update({ name: "web", expireTime: later });
    assert.equal(updated.spec.expireTime, later);
  });

  it("update: refuses labels that exceed 64 after the merge, naming labels", async () => {
    await world.addAgent("a1");
    const labels = (from: number) =>
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${from + i}`, "v"]));
    await fastPath.create({ name: "web", spec: { image: "busybox" }, labels: labels(0) });
    await assert.rejects(
      fastPath.update({ name: "web", labels: labels(40) }),
      (err: FsbError) => isCode(ErrorCode.InvalidArgument)(err) && err.field === "labels",
    );
  });

  it("a sandbox being deleted: update is FAILED_PRECONDITION; one without a container has no logs yet", async () => {
    await world.store.create<SandboxSpec, Sandbox["status"]>({
      apiVersion: API_VERSION,
      kind: SANDBOX_KIND,
      metadata: { name: "going", namespace: "default", finalizers: [SANDBOX_FINALIZER] },
      spec: { image: "busybox:latest" },
      status: { phase: SandboxPhase.Pending },
    });
    await assert.rejects(
      fastPath.logs("default", "going", { follow: false }, AbortSignal.timeout(5_000)).next(),
      isCode(ErrorCode.FailedPrecondition),
    );
    await world.store.delete(SANDBOX_KIND, "default", "going");
    await assert.rejects(
      fastPath.update({ name: "going", reset: true }),
      isCode(ErrorCode.FailedPrecondition),
    );
  });

  it("update and a delete with a grace period: conflicts that outlast the retries answer ABORTED (Code.Aborted)", async () => {
    await world.addAgent("a1");
    await fastPath.create({ name: "contended", spec: { image: "busybox" } });
    let updates = 0;
    world.store.update = async () => {
      updates++;
      throw new FsbError(ErrorCode.Aborted, "conflict: the object changed; re-read and retry");
    };
    const aborted = (err: FsbError) =>
      err.code === ErrorCode.Aborted && connectCodeFor(err.code) === Code.Aborted;
    await assert.rejects(fastPath.update({ name: "contended", labels: { team: "a" } }), aborted);
    assert.equal(updates, 5, "each attempt re-read the sandbox and tried again");
    await assert.rejects(fastPath.delete("default", "contended", 5), aborted);
  });
});

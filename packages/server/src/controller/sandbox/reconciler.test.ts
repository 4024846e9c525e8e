// The Sandbox reconciler against in-memory agents and a real (temporary) SQLite store: each test
// drives one path of the lifecycle and checks the stored status and what the agents were asked.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import {
  type Condition,
  ErrorCode,
  SANDBOX_FINALIZER,
  SANDBOX_KIND,
  type Sandbox,
  SandboxPhase,
  SandboxReason,
} from "@fast-sandbox/api";
import { agentError } from "../memory-agent.ts";
import { TestWorld } from "../test-world.ts";
import type { SandboxReconciler } from "./reconciler.ts";

const reason = (s: Sandbox | undefined, type: "Scheduled" | "Ready"): Partial<Condition> | undefined => {
  const c = s?.status?.conditions?.find((x) => x.type === type);
  return c && { status: c.status, reason: c.reason };
};

describe("SandboxReconciler", () => {
  let world: TestWorld;
  let reconciler: SandboxReconciler;

  beforeEach(async () => {
    world = await TestWorld.open();
    reconciler = world.reconciler();
  });
  afterEach(() => world.close());

  /** Reconciles `key` until it asks for nothing more right now (as the queue would). */
  async function settle(key: string) {
    for (let pass = 0; pass < 10; pass++) {
      const result = await reconciler.reconcile(key);
      if (result.requeueAfterMs !== 0) return result;
    }
    throw new Error("did not settle");
  }

  it("creates: finalizer, placement, start on the agent, Running", async () => {
    const a1 = await world.addAgent("a1");
    const key = await world.createSandbox("web", { exposedPorts: [8080] });
    assert.deepEqual(await settle(key), {});
    const s = await world.sandbox(key);
    assert.equal(s?.status?.phase, SandboxPhase.Running);
    assert.deepEqual(s?.metadata.finalizers, [SANDBOX_FINALIZER]);
    assert.equal(s?.status?.assignedAgent, "a1");
    assert.deepEqual(s?.status?.endpoints, ["10.0.0.1:8080"]);
    assert.equal(s?.status?.observedGeneration, s?.metadata.generation);
    assert.deepEqual(reason(s, "Scheduled"), { status: "True", reason: SandboxReason.Allocated });
    assert.deepEqual(reason(s, "Ready"), { status: "True", reason: SandboxReason.Started });
    assert.deepEqual(a1.calls, [`create ${s?.status?.sandboxID}`]);
    assert.equal(world.registry.allocationOf(s?.status?.sandboxID ?? "")?.agentId, "a1");
  });

  it("stays Pending with NoCapacity, and looks again, while no agent has room", async () => {
    await world.addAgent("a1", { capacity: 1 });
    await settle(await world.createSandbox("first"));
    const key = await world.createSandbox("second");
    assert.deepEqual(await settle(key), { requeueAfterMs: 1000 });
    const s = await world.sandbox(key);
    assert.equal(s?.status?.phase, SandboxPhase.Pending);
    assert.deepEqual(reason(s, "Scheduled"), { status: "False", reason: SandboxReason.NoCapacity });
  });

  it("moves a create the agent provably did not carry out to another agent", async () => {
    const a1 = await world.addAgent("a1", { capacity: 8 });
    const a2 = await world.addAgent("a2", { capacity: 1 });
    a1.failCreates.push(agentError(ErrorCode.Unavailable, "containerd is down"));
    const key = await world.createSandbox("web");
    await settle(key);
    const s = await world.sandbox(key);
    assert.equal(s?.status?.phase, SandboxPhase.Running);
    assert.equal(s?.status?.assignedAgent, "a2");
    assert.equal(a1.calls.length, 1);
    assert.deepEqual(a2.calls, [`create ${s?.status?.sandboxID}`]);
  });

  it("fails a create whose request is wrong, freeing its slot", async () => {
    const a1 = await world.addAgent("a1");
    a1.failCreates.push(agentError(ErrorCode.InvalidArgument, "command: not found in the image"));
    const key = await world.createSandbox("web");
    assert.deepEqual(await settle(key), {});
    const s = await world.sandbox(key);
    assert.equal(s?.status?.phase, SandboxPhase.Failed);
    assert.equal(s?.status?.assignedAgent, undefined);
    assert.deepEqual(reason(s, "Ready"), { status: "False", reason: SandboxReason.AgentCreateFailed });
    assert.equal(world.registry.allocations().length, 0);
  });

  it("leaves a create that failed for now Pending, throws for the queue's retry, then starts it", async () => {
    const a1 = await world.addAgent("a1");
    a1.failCreates.push(agentError(ErrorCode.Internal, "snapshotter broke"));
    const key = await world.createSandbox("web");
    await assert.rejects(settle(key), (err: Error & { code?: string }) => err.code === ErrorCode.Unavailable);
    const pending = await world.sandbox(key);
    assert.equal(pending?.status?.phase, SandboxPhase.Pending);
    assert.deepEqual(reason(pending, "Scheduled"), {
      status: "False",
      reason: SandboxReason.AgentCreateFailed,
    });
    await settle(key);
    assert.equal((await world.sandbox(key))?.status?.phase, SandboxPhase.Running);
  });

  it("fails a sandbox whose container exited, with its code, and removes the container", async () => {
    const a1 = await world.addAgent("a1");
    const key = await world.createSandbox("job");
    await settle(key);
    const id = (await world.sandbox(key))?.status?.sandboxID ?? "";
    a1.exit(id, 3);
    // The exit, and the status that reports it, come after the create (a status of the create's own
    // millisecond may predate it and speaks for nothing).
    await world.clock.advance(1);
    await world.monitor.probe("a1");
    await settle(key);
    const s = await world.sandbox(key);
    assert.equal(s?.status?.phase, SandboxPhase.Failed);
    assert.equal(s?.status?.exitCode, 3);
    assert.deepEqual(s?.status?.endpoints, []);
    assert.deepEqual(reason(s, "Ready"), { status: "False", reason: SandboxReason.ContainerExited });
    assert.deepEqual(a1.calls, [`create ${id}`, `delete ${id}`]);
    assert.equal(world.registry.allocationOf(id), undefined);
  });

  it("recreates a failed sandbox under a new id when its policy is AutoRecreate", async () => {
    const a1 = await world.addAgent("a1");
    const key = await world.createSandbox("svc", { failurePolicy: "AutoRecreate" });
    await settle(key);
    const first = (await world.sandbox(key))?.status?.sandboxID ?? "";
    a1.vanish(first);
    await world.clock.advance(1);
    await world.monitor.probe("a1");
    // The new incarnation starts after that status was taken, so the status does not speak for it.
    await world.clock.advance(1);
    await settle(key);
    const s = await world.sandbox(key);
    assert.equal(s?.status?.phase, SandboxPhase.Running);
    assert.equal(s?.status?.recreations, 1);
    assert.notEqual(s?.status?.sandboxID, first);
    assert.deepEqual(reason(s, "Ready"), { status: "True", reason: SandboxReason.Started });
  });

  it("marks a sandbox Lost with its agent, keeping the slot, and Running again when it is back", async () => {
    await world.addAgent("a1");
    const key = await world.createSandbox("web");
    await settle(key);
    const id = (await world.sandbox(key))?.status?.sandboxID ?? "";
    await world.loseAgent("a1");
    await settle(key);
    const lost = await world.sandbox(key);
    assert.equal(lost?.status?.phase, SandboxPhase.Lost);
    assert.deepEqual(reason(lost, "Ready"), { status: "False", reason: SandboxReason.AgentLost });
    assert.equal(world.registry.allocationOf(id)?.agentId, "a1");

    world.verdicts.set("a1", "answered");
    await world.monitor.probe("a1");
    await settle(key);
    const back = await world.sandbox(key);
    assert.equal(back?.status?.phase, SandboxPhase.Running);
    assert.equal(back?.status?.sandboxID, id);
  });

  it("completes a delete: Terminating, the container removed, then the object gone", async () => {
    const a1 = await world.addAgent("a1");
    const key = await world.createSandbox("web");
    await settle(key);
    const id = (await world.sandbox(key))?.status?.sandboxID ?? "";
    const phases: string[] = [];
    const stop = world.waiters.subscribe((await world.sandbox(key))?.metadata.uid ?? "", (s) =>
      phases.push(s.status?.phase ?? ""),
    );
    await world.store.delete(SANDBOX_KIND, "default", "web");
    assert.deepEqual(await settle(key), {});
    stop();
    assert.deepEqual(phases, [SandboxPhase.Terminating]);
    assert.equal(await world.sandbox(key), undefined);
    assert.deepEqual(a1.calls, [`create ${id}`, `delete ${id}`]);
    assert.equal(world.registry.allocationOf(id), undefined);
  });

  it("expires a sandbox at its expireTime: the container goes, the object stays Expired", async () => {
    const a1 = await world.addAgent("a1");
    const expireTime = new Date(world.clock.now() + 10_000).toISOString();
    const key = await world.createSandbox("web", { expireTime });
    assert.deepEqual(await settle(key), { requeueAfterMs: 10_000 });
    const id = (await world.sandbox(key))?.status?.sandboxID ?? "";
    await world.clock.advance(10_000);
    assert.deepEqual(await settle(key), {});
    const s = await world.sandbox(key);
    assert.equal(s?.status?.phase, SandboxPhase.Expired);
    assert.deepEqual(s?.status?.endpoints, []);
    assert.deepEqual(reason(s, "Ready"), { status: "False", reason: SandboxReason.Expired });
    assert.deepEqual(a1.calls, [`create ${id}`, `delete ${id}`]);
  });

  it("resets a sandbox: the container goes, a new incarnation runs, the revision is accepted", async () => {
    await world.addAgent("a1");
    const key = await world.createSandbox("web");
    await settle(key);
    const before = await world.sandbox(key);
    const resetRevision = new Date(world.clock.now()).toISOString();
    if (!before) throw new Error("no sandbox");
    await world.store.update({ ...before, spec: { ...before.spec, resetRevision } });
    await settle(key);
    const s = await world.sandbox(key);
    assert.equal(s?.status?.phase, SandboxPhase.Running);
    assert.equal(s?.status?.acceptedResetRevision, resetRevision);
    assert.equal(s?.status?.recreations, 1);
    assert.notEqual(s?.status?.sandboxID, before.status?.sandboxID);
  });
});

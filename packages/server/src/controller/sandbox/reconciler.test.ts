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
import { WorkQueue } from "../../kube/work-queue.ts";
import { AgentCallError } from "../agent-call-error.ts";
import { AgentReturnWindow } from "../agent-return-window.ts";
import { agentError } from "../memory-agent.ts";
import { TestWorld } from "../test-world.ts";
import { NEXT_STATUS_MS } from "./plan.ts";
import type { SandboxReconciler } from "./reconciler.ts";

/** What an agent answers when a declared port already listens on its node. */
const portInUse = () =>
  new AgentCallError(
    ErrorCode.FailedPrecondition,
    "port 8080 is already in use on node n1 by a process that did not declare it",
    {
      delivery: "answered",
      field: "sandbox.exposedPorts[0]",
    },
  );

const reason = (s: Sandbox | undefined, type: "Scheduled" | "Ready"): Partial<Condition> | undefined => {
  const c = s?.status?.conditions?.find((x) => x.type === type);
  return c && { status: c.status, reason: c.reason };
};

/** Waits (in real time, briefly) until `done` holds: for work the manual clock set going. */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("the condition never held");
}

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
    // No agent status since the start yet: it looks again soon.
    assert.deepEqual(await settle(key), { requeueAfterMs: NEXT_STATUS_MS });
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

  it("a sandbox written to the store naming a missing pool stays Pending with PoolNotFound, and runs once the pool appears", async () => {
    const key = await world.createSandbox("web", { poolRef: "late" });
    assert.deepEqual(await settle(key), { requeueAfterMs: 5000 });
    const pending = await world.sandbox(key);
    assert.equal(pending?.status?.phase, SandboxPhase.Pending);
    assert.deepEqual(reason(pending, "Scheduled"), { status: "False", reason: SandboxReason.PoolNotFound });
    const message = pending?.status?.conditions?.find((c) => c.type === "Scheduled")?.message;
    assert.equal(message, 'poolRef: pool "late" does not exist in namespace "default"');
    await world.applyPool("late");
    await world.addAgent("a1", { pool: "late" });
    assert.deepEqual(await settle(key), { requeueAfterMs: NEXT_STATUS_MS });
    assert.equal((await world.sandbox(key))?.status?.phase, SandboxPhase.Running);
  });

  it("a sandbox exposing ports in a gVisor pool outside mode isolated stays Pending with ExposedPortsUnsupported", async () => {
    await world.applyPool("g", { runtimeType: "gvisor", network: { mode: "none" } });
    const a1 = await world.addAgent("a1", { pool: "g" });
    const key = await world.createSandbox("web", { poolRef: "g", exposedPorts: [8080] });
    await settle(key);
    const s = await world.sandbox(key);
    assert.equal(s?.status?.phase, SandboxPhase.Pending);
    assert.deepEqual(reason(s, "Scheduled"), {
      status: "False",
      reason: SandboxReason.ExposedPortsUnsupported,
    });
    assert.deepEqual(a1.calls, []);
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

  it("an AutoRecreate whose port is taken on the node meanwhile: Pending with PortInUse, not a bare Failed, and Running once it is free", async () => {
    const a1 = await world.addAgent("a1");
    const key = await world.createSandbox("svc", { failurePolicy: "AutoRecreate", exposedPorts: [8080] });
    await settle(key);
    const first = (await world.sandbox(key))?.status?.sandboxID ?? "";
    a1.exit(first, 1);
    await world.clock.advance(1);
    await world.monitor.probe("a1");
    await world.clock.advance(1);
    a1.failCreates.push(portInUse());
    assert.deepEqual(await settle(key), { requeueAfterMs: 5000 });
    const waiting = await world.sandbox(key);
    assert.equal(waiting?.status?.phase, SandboxPhase.Pending);
    assert.deepEqual(reason(waiting, "Scheduled"), { status: "False", reason: SandboxReason.PortInUse });
    const message = waiting?.status?.conditions?.find((c) => c.type === "Scheduled")?.message ?? "";
    assert.match(message, /^exposedPorts\[0\]: port 8080 is already in use on node/);
    assert.equal(world.registry.allocations().length, 0, "the slot and port are free while it waits");
    await settle(key);
    const s = await world.sandbox(key);
    assert.equal(s?.status?.phase, SandboxPhase.Running);
    assert.equal(s?.status?.recreations, 1);
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

  it("after a controller start, waits for an agent it has not heard from until the loss timeout from the API's opening", async () => {
    await world.addAgent("a1");
    const key = await world.createSandbox("web");
    await settle(key);
    const id = (await world.sandbox(key))?.status?.sandboxID ?? "";
    // A new controller: its registry knows a1 only from the sandbox that names it.
    world.registry.removeAgent("a1");
    world.registry.restore(id, { agentId: "a1", ports: [] });
    const window = new AgentReturnWindow(15_000, () => world.clock.now());
    const restarted = world.reconciler(() => window.until);

    await world.clock.advance(60_000); // the start took long: the API has not opened yet
    assert.ok((await restarted.reconcile(key)).requeueAfterMs! > 0);
    assert.equal((await world.sandbox(key))?.status?.phase, SandboxPhase.Running);
    window.opened();
    await world.clock.advance(14_000);
    await restarted.reconcile(key);
    assert.equal((await world.sandbox(key))?.status?.phase, SandboxPhase.Running, "still within the window");
    await world.clock.advance(1000);
    await restarted.reconcile(key);
    assert.equal((await world.sandbox(key))?.status?.phase, SandboxPhase.Lost, "never came back");
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
    assert.deepEqual(
      await settle(key),
      { requeueAfterMs: NEXT_STATUS_MS },
      "the next status comes before the expiry",
    );
    const id = (await world.sandbox(key))?.status?.sandboxID ?? "";
    await world.clock.advance(10_000);
    assert.deepEqual(await settle(key), {});
    const s = await world.sandbox(key);
    assert.equal(s?.status?.phase, SandboxPhase.Expired);
    assert.deepEqual(s?.status?.endpoints, []);
    assert.deepEqual(reason(s, "Ready"), { status: "False", reason: SandboxReason.Expired });
    assert.deepEqual(a1.calls, [`create ${id}`, `delete ${id}`]);
  });

  it("writes Expired at expireTime, before the container's grace period, and frees the slot once it is gone", async () => {
    const a1 = await world.addAgent("a1");
    const expireTime = new Date(world.clock.now() + 3000).toISOString();
    const key = await world.createSandbox("web", { expireTime });
    await settle(key);
    const id = (await world.sandbox(key))?.status?.sandboxID ?? "";
    // The container takes its time to stop (a process that ignores SIGTERM waits out its grace).
    let stopped = () => {};
    const delete_ = a1.delete.bind(a1);
    a1.delete = async (sandboxId, options) => {
      await new Promise<void>((resolve) => (stopped = resolve));
      return delete_(sandboxId, options);
    };
    await world.clock.advance(3000);
    const pass = reconciler.reconcile(key);
    await until(async () => (await world.sandbox(key))?.status?.phase === SandboxPhase.Expired);
    const expiring = await world.sandbox(key);
    assert.deepEqual(reason(expiring, "Ready"), { status: "False", reason: SandboxReason.Expired });
    assert.equal(expiring?.status?.sandboxID, id);
    assert.equal(
      world.registry.allocationOf(id)?.agentId,
      "a1",
      "the slot is held while the container stops",
    );
    stopped();
    assert.deepEqual(await pass, {});
    assert.equal(world.registry.allocationOf(id), undefined);
    assert.deepEqual(a1.calls, [`create ${id}`, `delete ${id}`]);

    // Once the agent's status no longer lists it, nothing more is asked of the agent.
    await world.clock.advance(1);
    await world.monitor.probe("a1");
    assert.deepEqual(await settle(key), {});
    assert.deepEqual(a1.calls, [`create ${id}`, `delete ${id}`]);
    assert.equal((await world.sandbox(key))?.status?.phase, SandboxPhase.Expired);
  });

  it("stops the container of a sandbox written Expired before a restart cut the removal short", async () => {
    const a1 = await world.addAgent("a1");
    const key = await world.createSandbox("web");
    await settle(key);
    const before = await world.sandbox(key);
    if (!before?.status) throw new Error("no sandbox");
    const id = before.status.sandboxID ?? "";
    await world.store.updateStatus({ ...before, status: { ...before.status, phase: SandboxPhase.Expired } });
    await world.clock.advance(1);
    await world.monitor.probe("a1");
    await settle(key);
    assert.deepEqual(a1.calls, [`create ${id}`, `delete ${id}`]);
  });

  it("never lets a later retry make an expiry late: the key comes back by expireTime", async () => {
    await world.addAgent("a1", { images: ["other:latest"] });
    const expireTime = new Date(world.clock.now() + 2000).toISOString();
    const key = await world.createSandbox("web", { expireTime });
    // No agent has the image: the next look would be 5 s away, the expiry is in 2 s.
    assert.deepEqual(await settle(key), { requeueAfterMs: 2000 });
    assert.deepEqual(reason(await world.sandbox(key), "Scheduled"), {
      status: "False",
      reason: SandboxReason.ImageNotCached,
    });
  });

  it("expires within a millisecond of expireTime when driven by the work queue's timer", async () => {
    await world.addAgent("a1");
    const queue = new WorkQueue({ clock: world.clock });
    const stop = new AbortController();
    const running = queue.run(1, (k) => reconciler.reconcile(k), stop.signal);
    try {
      const expireAt = world.clock.now() + 2500;
      const key = await world.createSandbox("web", { expireTime: new Date(expireAt).toISOString() });
      queue.add(key);
      await until(async () => (await world.sandbox(key))?.status?.phase === SandboxPhase.Running);
      await world.clock.advance(expireAt - world.clock.now() - 1);
      assert.equal((await world.sandbox(key))?.status?.phase, SandboxPhase.Running);
      await world.clock.advance(1);
      await until(async () => (await world.sandbox(key))?.status?.phase === SandboxPhase.Expired);
      const ready = (await world.sandbox(key))?.status?.conditions?.find((c) => c.type === "Ready");
      assert.equal(ready?.lastTransitionTime, new Date(expireAt).toISOString());
    } finally {
      stop.abort();
      await running;
    }
  });

  it("marks a container that exited 0 Succeeded, removes it, and never recreates it", async () => {
    const a1 = await world.addAgent("a1");
    const key = await world.createSandbox("job", { failurePolicy: "AutoRecreate" });
    await settle(key);
    const id = (await world.sandbox(key))?.status?.sandboxID ?? "";
    a1.exit(id, 0);
    await world.clock.advance(1);
    await world.monitor.probe("a1");
    assert.deepEqual(await settle(key), {});
    const s = await world.sandbox(key);
    assert.equal(s?.status?.phase, SandboxPhase.Succeeded);
    assert.equal(s?.status?.exitCode, 0);
    assert.equal(s?.status?.sandboxID, id, "it keeps pointing at its incarnation, whose log stays");
    assert.deepEqual(reason(s, "Ready"), { status: "False", reason: SandboxReason.Completed });
    assert.deepEqual(a1.calls, [`create ${id}`, `delete ${id}`]);
    assert.equal(world.registry.allocationOf(id), undefined);
    await world.clock.advance(1);
    await world.monitor.probe("a1");
    assert.deepEqual(await settle(key), {});
    assert.equal((await world.sandbox(key))?.status?.recreations, undefined);
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

// The Kubernetes Events the Sandbox reconciler records along the lifecycle, on the unit-test world.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { SANDBOX_KIND } from "@fast-sandbox/api";
import { TestWorld } from "../test-world.ts";
import type { SandboxReconciler } from "./reconciler.ts";

describe("SandboxReconciler events", () => {
  let world: TestWorld;
  let reconciler: SandboxReconciler;

  beforeEach(async () => {
    world = await TestWorld.open();
    reconciler = world.reconciler();
  });
  afterEach(() => world.close());

  async function settle(key: string) {
    for (let pass = 0; pass < 10; pass++) {
      const result = await reconciler.reconcile(key);
      if (result.requeueAfterMs !== 0) return result;
    }
    throw new Error("did not settle");
  }

  /** `Type Reason: note` of every event about the sandbox, in order. */
  const told = (name: string) =>
    world.events.seen
      .filter((e) => e.object === `Sandbox/${name}`)
      .map((e) => `${e.type} ${e.reason}: ${e.note}`);

  it("tells the placement and the start, naming the agent", async () => {
    await world.addAgent("a1");
    await settle(await world.createSandbox("web"));
    assert.deepEqual(told("web"), [
      "Normal Scheduled: Placed on agent a1",
      "Normal Started: Started on agent a1",
    ]);
  });

  it("warns of every placement attempt that found no room, with the reason", async () => {
    await world.addAgent("a1", { capacity: 1 });
    await settle(await world.createSandbox("first"));
    const key = await world.createSandbox("second");
    await settle(key);
    await settle(key);
    const warnings = told("second");
    assert.equal(warnings.length, 2);
    for (const w of warnings) assert.match(w, /^Warning FailedScheduling: NoCapacity: /);
  });

  it("tells a failure with its exit code, and the recreation that follows under AutoRecreate", async () => {
    const a1 = await world.addAgent("a1");
    const key = await world.createSandbox("svc", { failurePolicy: "AutoRecreate" });
    await settle(key);
    a1.exit((await world.sandbox(key))?.status?.sandboxID ?? "", 3);
    await world.clock.advance(1);
    await world.monitor.probe("a1");
    await world.clock.advance(1);
    await settle(key);
    assert.deepEqual(told("svc").slice(2), [
      "Warning Failed: ContainerExited: the container exited with code 3",
      "Normal Recreating: Recreating after a failure (recreation 1)",
      "Normal Scheduled: Placed on agent a1",
      "Normal Started: Started on agent a1",
    ]);
  });

  it("tells the loss of the agent and its return", async () => {
    await world.addAgent("a1");
    const key = await world.createSandbox("web");
    await settle(key);
    await world.loseAgent("a1");
    await settle(key);
    world.verdicts.set("a1", "answered");
    await world.monitor.probe("a1");
    await settle(key);
    assert.deepEqual(told("web").slice(2), [
      "Warning Lost: Agent a1 stopped answering",
      "Normal AgentBack: Agent a1 is back; the container still runs",
    ]);
  });

  it("tells the expiry, then the deletion once the finalizer is released", async () => {
    await world.addAgent("a1");
    const key = await world.createSandbox("web", {
      expireTime: new Date(world.clock.now() + 10_000).toISOString(),
    });
    await settle(key);
    await world.clock.advance(10_000);
    await settle(key);
    await world.store.delete(SANDBOX_KIND, "default", "web");
    await settle(key);
    assert.equal(await world.sandbox(key), undefined);
    assert.deepEqual(told("web").slice(2), [
      "Normal Expired: ExpireTime passed; stopping the container",
      "Normal Deleted: Container removed; finalizer released",
    ]);
  });
});

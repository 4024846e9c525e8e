// Table tests of planSandbox: every phase and observation leads to exactly one next step.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Condition, Sandbox, SandboxSpec, SandboxStatus } from "@fast-sandbox/api";
import type { AgentSandboxPhase } from "../../agent/sandbox-spec.ts";
import { NEXT_STATUS_MS, type OnAgent, planSandbox, type SandboxDecision } from "./plan.ts";
import { sandboxFixture } from "./sandbox-fixture.ts";

const NOW = Date.parse("2026-11-22T12:00:00Z");
const iso = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

function sandbox(
  spec: Partial<SandboxSpec> = {},
  status: SandboxStatus = {},
  meta: Partial<Sandbox["metadata"]> = {},
): Sandbox {
  return sandboxFixture({
    spec,
    status,
    metadata: { creationTimestamp: iso(-60_000), finalizers: ["sandbox.fast.io/cleanup"], ...meta },
  });
}

const readyFalse = (sinceMs: number): Condition[] => [
  {
    type: "Ready",
    status: "False",
    reason: "ContainerExited",
    message: "",
    lastTransitionTime: iso(-sinceMs),
  },
];
const scheduledFalse = (reason: string): Condition => ({
  type: "Scheduled",
  status: "False",
  reason,
  message: "",
  lastTransitionTime: iso(-1000),
});
const running: SandboxStatus = { phase: "Running", assignedAgent: "a1", sandboxID: "s-1" };
const healthy = { healthy: true };
const present = (phase: AgentSandboxPhase, exitCode: number | null = null): OnAgent => ({
  present: true,
  phase,
  exitCode,
});

describe("planSandbox", () => {
  const cases: Array<{
    name: string;
    sb: Sandbox;
    agent?: { healthy: boolean };
    onAgent?: OnAgent;
    want: SandboxDecision;
  }> = [
    {
      name: "a new object gets the finalizer first",
      sb: sandbox({}, {}, { finalizers: [] }),
      want: { kind: "addFinalizer" },
    },
    { name: "a new object with the finalizer is scheduled", sb: sandbox(), want: { kind: "schedule" } },
    {
      name: "Pending without an agent is scheduled",
      sb: sandbox({}, { phase: "Pending" }),
      want: { kind: "schedule" },
    },
    {
      name: "Bound starts the container on its agent",
      sb: sandbox({}, { phase: "Bound", assignedAgent: "a1", sandboxID: "s-1" }),
      agent: healthy,
      want: { kind: "start" },
    },
    {
      name: "Running and present waits",
      sb: sandbox({}, running),
      agent: healthy,
      onAgent: present("Running"),
      want: { kind: "wait" },
    },
    {
      name: "Running before any report since the start looks again soon (no event may bring it back)",
      sb: sandbox({}, running),
      agent: healthy,
      want: { kind: "wait", requeueAfterMs: NEXT_STATUS_MS },
    },
    {
      name: "an exited container fails with its exit code",
      sb: sandbox({}, running),
      agent: healthy,
      onAgent: present("Exited", 3),
      want: { kind: "fail", reason: "ContainerExited", exitCode: 3 },
    },
    {
      name: "a container that exited 0 succeeds",
      sb: sandbox({}, running),
      agent: healthy,
      onAgent: present("Exited", 0),
      want: { kind: "succeed" },
    },
    {
      name: "an exit without a known code fails",
      sb: sandbox({}, running),
      agent: healthy,
      onAgent: present("Exited", null),
      want: { kind: "fail", reason: "ContainerExited", exitCode: undefined },
    },
    {
      name: "Succeeded is a finished job: AutoRecreate does not recreate it",
      sb: sandbox(
        { failurePolicy: "AutoRecreate" },
        { ...running, phase: "Succeeded", exitCode: 0, conditions: readyFalse(1000) },
      ),
      agent: healthy,
      onAgent: { present: false },
      want: { kind: "wait" },
    },
    {
      name: "Succeeded still expires at its expireTime",
      sb: sandbox({ expireTime: iso(5000) }, { ...running, phase: "Succeeded", exitCode: 0 }),
      agent: healthy,
      want: { kind: "wait", requeueAfterMs: 5000 },
    },
    {
      name: "a Succeeded sandbox can be reset",
      sb: sandbox({ resetRevision: iso(-1000) }, { ...running, phase: "Succeeded", exitCode: 0 }),
      agent: healthy,
      want: { kind: "reset" },
    },
    {
      name: "a container missing from a healthy agent fails",
      sb: sandbox({}, running),
      agent: healthy,
      onAgent: { present: false },
      want: { kind: "fail", reason: "ContainerMissing", exitCode: undefined },
    },
    {
      name: "an unhealthy agent loses the sandbox",
      sb: sandbox({}, running),
      agent: { healthy: false },
      want: { kind: "lose" },
    },
    { name: "an unknown agent loses the sandbox", sb: sandbox({}, running), want: { kind: "lose" } },
    {
      name: "a Lost sandbox whose agent returns with it running is revived",
      sb: sandbox({}, { ...running, phase: "Lost", conditions: readyFalse(1000) }),
      agent: healthy,
      onAgent: present("Running"),
      want: { kind: "revive" },
    },
    {
      name: "a Lost sandbox whose agent returns without it stays Lost (Manual)",
      sb: sandbox({}, { ...running, phase: "Lost", conditions: readyFalse(1000) }),
      agent: healthy,
      onAgent: { present: false },
      want: { kind: "wait" },
    },
    {
      name: "Manual failure only reports",
      sb: sandbox({ failurePolicy: "Manual" }, { phase: "Failed", conditions: readyFalse(1000) }),
      want: { kind: "wait" },
    },
    {
      name: "AutoRecreate within the window recreates",
      sb: sandbox({ failurePolicy: "AutoRecreate" }, { phase: "Failed", conditions: readyFalse(1000) }),
      want: { kind: "recreate" },
    },
    {
      name: "AutoRecreate recreates a Lost sandbox too",
      sb: sandbox({ failurePolicy: "AutoRecreate" }, { phase: "Lost", conditions: readyFalse(1000) }),
      want: { kind: "recreate" },
    },
    {
      name: "AutoRecreate past the window stays failed",
      sb: sandbox(
        { failurePolicy: "AutoRecreate", recoveryTimeoutSeconds: 5 },
        { phase: "Failed", conditions: readyFalse(6000) },
      ),
      want: { kind: "wait" },
    },
    {
      name: "a recreation stuck in Pending past its window gives up",
      sb: sandbox(
        { failurePolicy: "AutoRecreate", recoveryTimeoutSeconds: 5 },
        { phase: "Pending", recreations: 1, conditions: [...readyFalse(6000), scheduledFalse("Recreating")] },
      ),
      want: { kind: "giveUp" },
    },
    {
      name: "a reset pending long after an old failure does not give up (regression)",
      sb: sandbox(
        { failurePolicy: "AutoRecreate", recoveryTimeoutSeconds: 5 },
        {
          phase: "Pending",
          recreations: 2,
          conditions: [...readyFalse(60_000), scheduledFalse("Resetting")],
        },
      ),
      want: { kind: "schedule" },
    },
    {
      name: "a recreation in Pending within its window keeps scheduling",
      sb: sandbox(
        { failurePolicy: "AutoRecreate" },
        { phase: "Pending", recreations: 1, conditions: [...readyFalse(1000), scheduledFalse("Recreating")] },
      ),
      want: { kind: "schedule" },
    },
    {
      name: "a newer resetRevision resets",
      sb: sandbox({ resetRevision: iso(-1000) }, { ...running, acceptedResetRevision: iso(-5000) }),
      agent: healthy,
      want: { kind: "reset" },
    },
    {
      name: "an accepted resetRevision does nothing more",
      sb: sandbox({ resetRevision: iso(-1000) }, { ...running, acceptedResetRevision: iso(-1000) }),
      agent: healthy,
      onAgent: present("Running"),
      want: { kind: "wait" },
    },
    {
      name: "a first resetRevision resets",
      sb: sandbox({ resetRevision: iso(-1000) }, running),
      agent: healthy,
      want: { kind: "reset" },
    },
    {
      name: "a Failed Manual sandbox can still be reset",
      sb: sandbox({ resetRevision: iso(-1000) }, { phase: "Failed", conditions: readyFalse(9000) }),
      want: { kind: "reset" },
    },
    {
      name: "past expireTime expires",
      sb: sandbox({ expireTime: iso(-1) }, running),
      agent: healthy,
      want: { kind: "expire" },
    },
    {
      name: "before expireTime waits until it",
      sb: sandbox({ expireTime: iso(30_000) }, running),
      agent: healthy,
      onAgent: present("Running"),
      want: { kind: "wait", requeueAfterMs: 30_000 },
    },
    {
      name: "Expired is final once nothing points at a container",
      sb: sandbox({ expireTime: iso(-1) }, { phase: "Expired" }),
      want: { kind: "wait" },
    },
    {
      name: "Expired is final once its answering agent no longer lists the container",
      sb: sandbox({ expireTime: iso(-1) }, { ...running, phase: "Expired" }),
      agent: healthy,
      onAgent: { present: false },
      want: { kind: "wait" },
    },
    {
      name: "Expired stops the container its agent still runs (the phase is written first)",
      sb: sandbox({ expireTime: iso(-1) }, { ...running, phase: "Expired" }),
      agent: healthy,
      onAgent: present("Running"),
      want: { kind: "stopExpired" },
    },
    {
      name: "Expired stops the container while its agent does not answer (until it counts as gone)",
      sb: sandbox({ expireTime: iso(-1) }, { ...running, phase: "Expired" }),
      agent: { healthy: false },
      onAgent: { present: false },
      want: { kind: "stopExpired" },
    },
    {
      name: "Expired stops the container when no status has spoken for it yet",
      sb: sandbox({ expireTime: iso(-1) }, { ...running, phase: "Expired" }),
      agent: healthy,
      want: { kind: "stopExpired" },
    },
    {
      name: "expiry beats recovery",
      sb: sandbox(
        { expireTime: iso(-1), failurePolicy: "AutoRecreate" },
        { phase: "Failed", conditions: readyFalse(1) },
      ),
      want: { kind: "expire" },
    },
    {
      name: "deletion with the finalizer cleans up",
      sb: sandbox({ expireTime: iso(-1) }, running, { deletionTimestamp: iso(-1) }),
      want: { kind: "cleanup" },
    },
    {
      name: "deletion without the finalizer waits for the store",
      sb: sandbox({}, running, { deletionTimestamp: iso(-1), finalizers: [] }),
      want: { kind: "wait" },
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      assert.deepEqual(
        planSandbox({ sandbox: tc.sb, now: NOW, agent: tc.agent, onAgent: tc.onAgent }),
        tc.want,
      );
    });
  }
});

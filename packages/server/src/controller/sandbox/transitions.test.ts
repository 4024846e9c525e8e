// Table tests of the status transitions: each named case is one change of a Sandbox's status.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Condition, SandboxPhase, SandboxReason, type SandboxStatus } from "@fast-sandbox/api";
import type { Allocation } from "../registry/agent-registry.ts";
import {
  agentBack,
  createFailed,
  expired,
  failed,
  lost,
  NO_OBJECT,
  PHASE_TRANSITIONS,
  type Placement,
  pending,
  recoveryTimedOut,
  recreating,
  reset,
  scheduled,
  started,
  succeeded,
  terminating,
  unschedulable,
} from "./transitions.ts";

const T0 = Date.parse("2026-11-22T12:00:00Z");
const NOW = T0 + 60_000;
const t0 = new Date(T0).toISOString();
const now = new Date(NOW).toISOString();

const allocation: Allocation = {
  key: "s-2",
  agentId: "a2",
  address: "10.0.0.2",
  url: "http://10.0.0.2:5758",
  nodeName: "n2",
  ports: [8080],
};
const placement: Placement = { sandboxId: "s-2", allocation };

const cond = (
  type: "Scheduled" | "Ready",
  status: "True" | "False",
  reason: string,
  message: string,
  at = now,
): Condition => ({ type, status, reason, message, lastTransitionTime: at });

const scheduledSince = cond("Scheduled", "True", SandboxReason.Allocated, "placed on agent a1", t0);
const readySince = cond("Ready", "True", SandboxReason.Started, "", t0);

/** A Running sandbox on agent a1, as the reconciler last wrote it. */
const running: SandboxStatus = {
  phase: SandboxPhase.Running,
  assignedAgent: "a1",
  nodeName: "n1",
  sandboxID: "s-1",
  endpoints: ["10.0.0.1:8080"],
  startedAt: t0,
  observedGeneration: 1,
  conditions: [scheduledSince, readySince],
};
/** What is left of `running` once nothing ties it to its container. */
const runningUnassigned: SandboxStatus = {
  phase: SandboxPhase.Running,
  observedGeneration: 1,
  conditions: [scheduledSince, readySince],
};
const bound: SandboxStatus = {
  phase: SandboxPhase.Bound,
  assignedAgent: "a1",
  nodeName: "n1",
  sandboxID: "s-1",
  endpoints: ["10.0.0.1:8080"],
  observedGeneration: 1,
  conditions: [scheduledSince],
};

const cases: Array<{ name: string; got: () => SandboxStatus; want: SandboxStatus }> = [
  {
    name: "pending: a strong create's new object",
    got: () => pending(),
    want: { phase: SandboxPhase.Pending },
  },
  {
    name: "scheduled: a fast create's first status is of generation 1",
    got: () => scheduled({ observedGeneration: 1 }, placement, NOW),
    want: {
      phase: SandboxPhase.Bound,
      assignedAgent: "a2",
      nodeName: "n2",
      sandboxID: "s-2",
      endpoints: ["10.0.0.2:8080"],
      observedGeneration: 1,
      conditions: [cond("Scheduled", "True", SandboxReason.Allocated, "placed on agent a2")],
    },
  },
  {
    name: "scheduled: moving to another agent names the one that failed, and keeps the transition time",
    got: () => scheduled(bound, placement, NOW, { agentId: "a1", error: "agent a1 is unreachable" }),
    want: {
      ...bound,
      assignedAgent: "a2",
      nodeName: "n2",
      sandboxID: "s-2",
      endpoints: ["10.0.0.2:8080"],
      conditions: [
        cond(
          "Scheduled",
          "True",
          SandboxReason.Allocated,
          "placed on agent a2 after agent a1 failed: agent a1 is unreachable",
          t0,
        ),
      ],
    },
  },
  {
    name: "unschedulable: no room keeps the sandbox Pending with the registry's message",
    got: () => unschedulable({ phase: SandboxPhase.Pending }, SandboxReason.NoCapacity, "all full", NOW),
    want: {
      phase: SandboxPhase.Pending,
      conditions: [cond("Scheduled", "False", SandboxReason.NoCapacity, "all full")],
    },
  },
  {
    name: "started: the controller's time of the agent's answer, the endpoints, Ready",
    got: () => started(bound, { endpoints: ["10.0.0.1:8080"] }, NOW),
    want: {
      ...bound,
      phase: SandboxPhase.Running,
      startedAt: now,
      conditions: [scheduledSince, cond("Ready", "True", SandboxReason.Started, "")],
    },
  },
  {
    name: "createFailed: retryable goes back to Pending, unassigned, Scheduled=False",
    got: () => createFailed(bound, "agent a1 is unreachable", false, NOW),
    want: {
      phase: SandboxPhase.Pending,
      observedGeneration: 1,
      conditions: [cond("Scheduled", "False", SandboxReason.AgentCreateFailed, "agent a1 is unreachable")],
    },
  },
  {
    name: "createFailed: a declared port in use on the node is Pending again with reason PortInUse",
    got: () => createFailed(bound, "exposedPorts[0]: port 80 is in use", false, NOW, SandboxReason.PortInUse),
    want: {
      phase: SandboxPhase.Pending,
      observedGeneration: 1,
      conditions: [cond("Scheduled", "False", SandboxReason.PortInUse, "exposedPorts[0]: port 80 is in use")],
    },
  },
  {
    name: "createFailed: a wrong request fails the sandbox, Ready=False",
    got: () => createFailed(bound, "command: not found in the image", true, NOW),
    want: {
      phase: SandboxPhase.Failed,
      observedGeneration: 1,
      conditions: [
        scheduledSince,
        cond("Ready", "False", SandboxReason.AgentCreateFailed, "command: not found in the image"),
      ],
    },
  },
  {
    name: "succeeded: an exit with code 0 is Completed, keeps the incarnation, drops the endpoints",
    got: () => succeeded(running, NOW),
    want: {
      ...running,
      phase: SandboxPhase.Succeeded,
      exitCode: 0,
      endpoints: [],
      conditions: [
        scheduledSince,
        cond("Ready", "False", SandboxReason.Completed, "the container exited with code 0"),
      ],
    },
  },
  {
    name: "failed: an exit keeps its code and drops the endpoints",
    got: () => failed(running, SandboxReason.ContainerExited, 3, NOW),
    want: {
      ...running,
      phase: SandboxPhase.Failed,
      exitCode: 3,
      endpoints: [],
      conditions: [
        scheduledSince,
        cond("Ready", "False", SandboxReason.ContainerExited, "the container exited with code 3"),
      ],
    },
  },
  {
    name: "failed: an exit without a code says unknown",
    got: () => failed(running, SandboxReason.ContainerExited, undefined, NOW),
    want: {
      ...running,
      phase: SandboxPhase.Failed,
      endpoints: [],
      conditions: [
        scheduledSince,
        cond("Ready", "False", SandboxReason.ContainerExited, "the container exited with code unknown"),
      ],
    },
  },
  {
    name: "failed: a container the agent no longer lists",
    got: () => failed(running, SandboxReason.ContainerMissing, undefined, NOW),
    want: {
      ...running,
      phase: SandboxPhase.Failed,
      endpoints: [],
      conditions: [
        scheduledSince,
        cond("Ready", "False", SandboxReason.ContainerMissing, "the container is gone from its agent"),
      ],
    },
  },
  {
    name: "lost: keeps the slot (agent, id, endpoints), Ready=False",
    got: () => lost(running, NOW),
    want: {
      ...running,
      phase: SandboxPhase.Lost,
      conditions: [
        scheduledSince,
        cond("Ready", "False", SandboxReason.AgentLost, "agent a1 stopped answering"),
      ],
    },
  },
  {
    name: "agentBack: Running again, Ready=True from the time it comes back",
    got: () => agentBack(lost(running, T0 + 1000), NOW),
    want: {
      ...running,
      conditions: [scheduledSince, cond("Ready", "True", SandboxReason.Started, "agent is back")],
    },
  },
  {
    name: "recreating: a new incarnation, counted, placed afresh",
    got: () => recreating(failed(running, SandboxReason.ContainerExited, 1, T0), NOW),
    want: {
      phase: SandboxPhase.Pending,
      observedGeneration: 1,
      recreations: 1,
      conditions: [
        cond("Scheduled", "False", SandboxReason.Recreating, "recreating after a failure"),
        cond("Ready", "False", SandboxReason.ContainerExited, "the container exited with code 1", t0),
      ],
    },
  },
  {
    name: "recoveryTimedOut: Failed for good",
    got: () => recoveryTimedOut({ phase: SandboxPhase.Pending, recreations: 2 }, NOW),
    want: {
      phase: SandboxPhase.Failed,
      recreations: 2,
      conditions: [
        cond(
          "Ready",
          "False",
          SandboxReason.RecoveryTimedOut,
          "could not be recreated within recoveryTimeoutSeconds",
        ),
      ],
    },
  },
  {
    name: "reset: accepts the revision, counts an incarnation, unassigned",
    got: () => reset(running, t0, NOW),
    want: {
      ...runningUnassigned,
      phase: SandboxPhase.Pending,
      recreations: 1,
      acceptedResetRevision: t0,
      conditions: [cond("Scheduled", "False", SandboxReason.Resetting, "reset requested"), readySince],
    },
  },
  {
    name: "reset: without a revision nothing is accepted",
    got: () => reset({ phase: SandboxPhase.Pending }, undefined, NOW),
    want: {
      phase: SandboxPhase.Pending,
      recreations: 1,
      conditions: [cond("Scheduled", "False", SandboxReason.Resetting, "reset requested")],
    },
  },
  {
    name: "expired: the container removed, the object still points at the incarnation",
    got: () => expired(running, false, NOW),
    want: {
      ...running,
      phase: SandboxPhase.Expired,
      endpoints: [],
      conditions: [scheduledSince, cond("Ready", "False", SandboxReason.Expired, "expireTime passed")],
    },
  },
  {
    name: "expired: a container left behind (agent gone) is no longer pointed at",
    got: () => expired(running, true, NOW),
    want: {
      ...runningUnassigned,
      phase: SandboxPhase.Expired,
      endpoints: [],
      conditions: [scheduledSince, cond("Ready", "False", SandboxReason.Expired, "expireTime passed")],
    },
  },
  {
    name: "terminating: only the phase changes",
    got: () => terminating(running),
    want: { ...running, phase: SandboxPhase.Terminating },
  },
];

describe("status transitions", () => {
  for (const c of cases) it(c.name, () => assert.deepEqual(c.got(), c.want));

  it("never change the status they were given", () => {
    const before = structuredClone(running);
    failed(running, SandboxReason.ContainerExited, 3, NOW);
    reset(running, t0, NOW);
    expired(running, true, NOW);
    assert.deepEqual(running, before);
  });
});

/** Each transition applied to a status in phase `from` (NO_OBJECT: a create's fresh status). */
const apply: Record<string, (from: SandboxStatus) => SandboxStatus> = {
  pending: () => pending(),
  scheduled: (s) => scheduled(s, placement, NOW),
  unschedulable: (s) => unschedulable(s, SandboxReason.ImageNotCached, "no agent has it", NOW),
  started: (s) => started(s, { endpoints: [] }, NOW),
  succeeded: (s) => succeeded(s, NOW),
  failed: (s) => failed(s, SandboxReason.ContainerMissing, undefined, NOW),
  lost: (s) => lost(s, NOW),
  agentBack: (s) => agentBack(s, NOW),
  recreating: (s) => recreating(s, NOW),
  recoveryTimedOut: (s) => recoveryTimedOut(s, NOW),
  reset: (s) => reset(s, now, NOW),
  expired: (s) => expired(s, false, NOW),
  terminating: (s) => terminating(s),
};

describe("PHASE_TRANSITIONS", () => {
  for (const row of PHASE_TRANSITIONS) {
    if (row.name === "deleted") continue;
    for (const from of row.from) {
      it(`${row.name}: ${from} → ${row.to}`, () => {
        const status: SandboxStatus = from === NO_OBJECT ? {} : { ...running, phase: from };
        const next =
          row.name === "createFailed"
            ? createFailed(status, "why", row.to === SandboxPhase.Failed, NOW)
            : apply[row.name]?.(status);
        assert.ok(next, `no transition named ${row.name}`);
        assert.equal(next.phase, row.to);
      });
    }
  }

  it("names only transitions that exist, and the deletion that ends the object", () => {
    const names = new Set(PHASE_TRANSITIONS.map((r) => r.name));
    assert.deepEqual(
      [...names].filter((n) => n !== "deleted" && n !== "createFailed" && !(n in apply)),
      [],
    );
    assert.ok(names.has("deleted"));
  });
});

/** Every change of a Sandbox's status, as pure functions of the status observed, the facts and the time. */
import {
  type Condition,
  type Sandbox,
  SandboxCondition,
  SandboxPhase,
  SandboxReason,
  type SandboxStatus,
} from "@fast-sandbox/api";
import { setCondition } from "../conditions.ts";
import type { Allocation } from "../registry/agent-registry.ts";
import { isRefusal, type UnschedulableReason } from "./unschedulable.ts";

/*
 * Who writes status when. Every writer builds the status with the functions below, so the
 * lifecycle is written once:
 * - a strong create stores the new object once, `pending`, and from then on only reads
 *   (strong-create.ts);
 * - a fast create builds its object in memory, `scheduled` then `started` (`scheduled` again when
 *   it moves to another agent), and stores it once as built (fast-create-persist.ts);
 * - from then on the reconciler is the only writer: each step does its side effects, applies one
 *   transition, and writes the result only when it changed, stamped with observedGeneration
 *   (reconciler.ts, start.ts).
 * The API's update and delete change spec, labels, annotations and deletionTimestamp, never status.
 */

/** Where a placement put one incarnation: its fresh sandbox id and the slot the registry reserved. */
export interface Placement {
  sandboxId: string;
  allocation: Allocation;
}

/** The agent's answer to a create, as far as the status keeps it. */
export interface StartedContainer {
  endpoints: string[];
}

/** The reasons a running container stops counting as running while its agent answers. */
export type ContainerFailure = typeof SandboxReason.ContainerExited | typeof SandboxReason.ContainerMissing;

/** A new object of a strong create: the reconciler places it. */
export function pending(): SandboxStatus {
  return { phase: SandboxPhase.Pending };
}

/**
 * Bound to a slot on an agent. `movedFrom` names the agent that failed the create just before,
 * when the sandbox moves once to another (create-failure.ts).
 */
export function scheduled(
  status: SandboxStatus,
  placement: Placement,
  now: number,
  movedFrom?: { agentId: string; error: string },
): SandboxStatus {
  const { allocation } = placement;
  const placed = `placed on agent ${allocation.agentId}`;
  return {
    ...status,
    phase: SandboxPhase.Bound,
    assignedAgent: allocation.agentId,
    nodeName: allocation.nodeName,
    sandboxID: placement.sandboxId,
    endpoints: allocation.ports.map((p) => `${allocation.address}:${p}`),
    conditions: sandboxCondition(
      SandboxCondition.Scheduled,
      status,
      "True",
      SandboxReason.Allocated,
      movedFrom ? `${placed} after agent ${movedFrom.agentId} failed: ${movedFrom.error}` : placed,
      now,
    ),
  };
}

/** Still Pending: no agent has room, none has the image, or the pool is missing; the reconciler looks again later. */
export function unschedulable(
  status: SandboxStatus,
  reason: UnschedulableReason,
  message: string,
  now: number,
): SandboxStatus {
  return {
    ...status,
    phase: SandboxPhase.Pending,
    conditions: sandboxCondition(SandboxCondition.Scheduled, status, "False", reason, message, now),
  };
}

/**
 * The agent started the container. `startedAt` is `now`, the controller's time of the agent's
 * answer: the clock of `createdAt` too, so the two are in order (created-at.ts), and the clock the
 * agent monitor judges statuses by (a status asked for after it speaks for this container).
 */
export function started(status: SandboxStatus, created: StartedContainer, now: number): SandboxStatus {
  return {
    ...status,
    phase: SandboxPhase.Running,
    startedAt: new Date(now).toISOString(),
    endpoints: created.endpoints,
    conditions: sandboxCondition(SandboxCondition.Ready, status, "True", SandboxReason.Started, "", now),
  };
}

/**
 * The agent failed the create; the slot is gone. `permanent` (the request itself is wrong) fails
 * the sandbox; otherwise it is Pending again for the queue to retry. The reason is
 * AgentCreateFailed unless a more precise one is known (PortInUse).
 */
export function createFailed(
  status: SandboxStatus,
  message: string,
  permanent: boolean,
  now: number,
  reason:
    | typeof SandboxReason.AgentCreateFailed
    | typeof SandboxReason.PortInUse = SandboxReason.AgentCreateFailed,
): SandboxStatus {
  const type = permanent ? SandboxCondition.Ready : SandboxCondition.Scheduled;
  return {
    ...unassigned(status),
    phase: permanent ? SandboxPhase.Failed : SandboxPhase.Pending,
    conditions: sandboxCondition(type, status, "False", reason, message, now),
  };
}

/** The container exited, or its agent no longer lists it. */
export function failed(
  status: SandboxStatus,
  reason: ContainerFailure,
  exitCode: number | undefined,
  now: number,
): SandboxStatus {
  const message =
    reason === SandboxReason.ContainerExited
      ? `the container exited with code ${exitCode ?? "unknown"}`
      : "the container is gone from its agent";
  return {
    ...status,
    phase: SandboxPhase.Failed,
    ...(exitCode === undefined ? {} : { exitCode }),
    endpoints: [],
    conditions: sandboxCondition(SandboxCondition.Ready, status, "False", reason, message, now),
  };
}

/**
 * The container's process exited with code 0: a finished job, as a Kubernetes Pod's Succeeded. Like
 * a failure it keeps its assignment, so its log stays readable until the sandbox is deleted; no
 * failure policy recreates it.
 */
export function succeeded(status: SandboxStatus, now: number): SandboxStatus {
  return {
    ...status,
    phase: SandboxPhase.Succeeded,
    exitCode: 0,
    endpoints: [],
    conditions: sandboxCondition(
      SandboxCondition.Ready,
      status,
      "False",
      SandboxReason.Completed,
      "the container exited with code 0",
      now,
    ),
  };
}

/**
 * The agent stopped answering. The slot stays held: the container may still run on the agent,
 * which may come back (and the pool must not take an agent that holds it for empty).
 */
export function lost(status: SandboxStatus, now: number): SandboxStatus {
  return {
    ...status,
    phase: SandboxPhase.Lost,
    conditions: sandboxCondition(
      SandboxCondition.Ready,
      status,
      "False",
      SandboxReason.AgentLost,
      `agent ${status.assignedAgent} stopped answering`,
      now,
    ),
  };
}

/** A lost agent answers again with the container still running: the sandbox was never really gone. */
export function agentBack(status: SandboxStatus, now: number): SandboxStatus {
  return {
    ...status,
    phase: SandboxPhase.Running,
    conditions: sandboxCondition(
      SandboxCondition.Ready,
      status,
      "True",
      SandboxReason.Started,
      "agent is back",
      now,
    ),
  };
}

/** failurePolicy AutoRecreate: a new incarnation, placed afresh. */
export function recreating(status: SandboxStatus, now: number): SandboxStatus {
  return {
    ...unassigned(status),
    phase: SandboxPhase.Pending,
    recreations: (status.recreations ?? 0) + 1,
    conditions: sandboxCondition(
      SandboxCondition.Scheduled,
      status,
      "False",
      SandboxReason.Recreating,
      "recreating after a failure",
      now,
    ),
  };
}

/** A recreation found no room within the recovery window: the sandbox fails for good. */
export function recoveryTimedOut(status: SandboxStatus, now: number): SandboxStatus {
  return {
    ...status,
    phase: SandboxPhase.Failed,
    conditions: sandboxCondition(
      SandboxCondition.Ready,
      status,
      "False",
      SandboxReason.RecoveryTimedOut,
      "could not be recreated within recoveryTimeoutSeconds",
      now,
    ),
  };
}

/** A reset removed the container; `resetRevision` (spec.resetRevision) is accepted, a new incarnation follows. */
export function reset(status: SandboxStatus, resetRevision: string | undefined, now: number): SandboxStatus {
  return {
    ...unassigned(status),
    phase: SandboxPhase.Pending,
    recreations: (status.recreations ?? 0) + 1,
    ...(resetRevision ? { acceptedResetRevision: resetRevision } : {}),
    conditions: sandboxCondition(
      SandboxCondition.Scheduled,
      status,
      "False",
      SandboxReason.Resetting,
      "reset requested",
      now,
    ),
  };
}

/**
 * spec.expireTime passed: written at once, while the container still gets its grace period, so the
 * phase says so on time. Applied again with `containerLeft` when the container could not be removed
 * because its agent is gone: one left behind must not look owned, the object no longer points at it.
 */
export function expired(status: SandboxStatus, containerLeft: boolean, now: number): SandboxStatus {
  return {
    ...(containerLeft ? unassigned(status) : status),
    phase: SandboxPhase.Expired,
    endpoints: [],
    conditions: sandboxCondition(
      SandboxCondition.Ready,
      status,
      "False",
      SandboxReason.Expired,
      "expireTime passed",
      now,
    ),
  };
}

/** The object is being deleted; the container goes next, then the finalizer. */
export function terminating(status: SandboxStatus): SandboxStatus {
  return { ...status, phase: SandboxPhase.Terminating };
}

/** The status without anything that ties it to one container incarnation. */
export function unassigned(status: SandboxStatus): SandboxStatus {
  const {
    assignedAgent: _a,
    nodeName: _n,
    sandboxID: _s,
    endpoints: _e,
    startedAt: _t,
    exitCode: _x,
    ...rest
  } = status;
  return rest;
}

/** Where a create that waits on its object stands after one status (what strong create reads). */
export type SettledOutcome = "running" | "failed" | "createFailed" | "noRoom" | "refused" | "pending";

/** Reads a status the reconciler reported: settled (running, failed, no room) or not yet. */
export function settledOutcome(sandbox: Sandbox): SettledOutcome {
  const phase = sandbox.status?.phase;
  // A process that already exited 0 did start: the create answers with it.
  if (phase === SandboxPhase.Running || phase === SandboxPhase.Succeeded) return "running";
  if (phase === SandboxPhase.Failed || phase === SandboxPhase.Expired) return "failed";
  if (phase !== SandboxPhase.Pending) return "pending";
  const scheduledNow = condition(sandbox.status, SandboxCondition.Scheduled);
  if (scheduledNow?.status !== "False") return "pending";
  if (isRefusal(scheduledNow.reason)) return "refused";
  if (
    scheduledNow.reason === SandboxReason.NoCapacity ||
    scheduledNow.reason === SandboxReason.ImageNotCached
  )
    return "noRoom";
  return scheduledNow.reason === SandboxReason.AgentCreateFailed ||
    scheduledNow.reason === SandboxReason.PortInUse
    ? "createFailed"
    : "pending";
}

/** The Sandbox condition of `type`, if present. */
export function condition(
  status: SandboxStatus | undefined,
  type: (typeof SandboxCondition)[keyof typeof SandboxCondition],
): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Where an edge of the lifecycle diagram starts or ends without an object: created, or gone. */
export const NO_OBJECT = "[*]";

/** One edge set of the lifecycle: the phases a transition applies from, and the phase it leads to. */
export interface PhaseTransition {
  /** The function above (`deleted`: the finalizer went and the store dropped the object). */
  name: string;
  from: ReadonlyArray<SandboxPhase | typeof NO_OBJECT>;
  to: SandboxPhase | typeof NO_OBJECT;
}

const { Pending, Bound, Running, Succeeded, Failed, Lost, Expired, Terminating } = SandboxPhase;

/**
 * The lifecycle as a table, for the diagram in docs/architecture.md (a test checks the two agree,
 * and that each function above leads where its row says).
 */
export const PHASE_TRANSITIONS: readonly PhaseTransition[] = [
  { name: "pending", from: [NO_OBJECT], to: Pending },
  { name: "scheduled", from: [NO_OBJECT, Pending, Bound], to: Bound },
  { name: "unschedulable", from: [Pending], to: Pending },
  { name: "started", from: [Bound], to: Running },
  { name: "createFailed", from: [Bound], to: Pending },
  { name: "createFailed", from: [Bound], to: Failed },
  { name: "succeeded", from: [Running], to: Succeeded },
  { name: "failed", from: [Running], to: Failed },
  { name: "lost", from: [Running], to: Lost },
  { name: "agentBack", from: [Lost], to: Running },
  { name: "recreating", from: [Failed, Lost], to: Pending },
  { name: "recoveryTimedOut", from: [Pending], to: Failed },
  { name: "reset", from: [Pending, Bound, Running, Succeeded, Failed, Lost], to: Pending },
  { name: "expired", from: [Pending, Bound, Running, Succeeded, Failed, Lost], to: Expired },
  {
    name: "terminating",
    from: [Pending, Bound, Running, Succeeded, Failed, Lost, Expired],
    to: Terminating,
  },
  { name: "deleted", from: [Terminating], to: NO_OBJECT },
];

/** The status's conditions with one of them set (its transition time moves only when its status does). */
function sandboxCondition(
  type: (typeof SandboxCondition)[keyof typeof SandboxCondition],
  status: SandboxStatus,
  value: "True" | "False",
  reason: SandboxReason,
  message: string,
  now: number,
): Condition[] {
  return setCondition(status.conditions, { type, status: value, reason, message }, new Date(now));
}

/** Decides the next step for one Sandbox from what is observed (pure; the reconciler acts on it). */
import {
  DEFAULT_RECOVERY_TIMEOUT_SECONDS,
  SANDBOX_FINALIZER,
  type Sandbox,
  SandboxCondition,
  SandboxPhase,
  SandboxReason,
} from "@fast-sandbox/api";
import type { AgentSandboxPhase } from "../../agent/sandbox-spec.ts";
import { type ContainerFailure, condition } from "./transitions.ts";

/** The sandbox as its agent last reported it: absent, or present with its agent-side phase. */
export type OnAgent =
  | { present: false }
  | { present: true; phase: AgentSandboxPhase; exitCode: number | null };

/** Everything the plan looks at. Time is passed in, so tests need no clock. */
export interface SandboxObservation {
  sandbox: Sandbox;
  now: number;
  /** The assigned agent's health in the registry; undefined when unassigned or not (yet) known. */
  agent: { healthy: boolean } | undefined;
  /** From the assigned agent's latest status taken after the sandbox started; undefined if none yet. */
  onAgent: OnAgent | undefined;
}

/** One step. The reconciler does it, writes status, and reconciles again until `wait`. */
export type SandboxDecision =
  | { kind: "addFinalizer" }
  | { kind: "cleanup" }
  | { kind: "expire" }
  | { kind: "stopExpired" }
  | { kind: "reset" }
  | { kind: "schedule" }
  | { kind: "start" }
  | { kind: "succeed" }
  | { kind: "fail"; reason: ContainerFailure; exitCode: number | undefined }
  | { kind: "lose" }
  | { kind: "revive" }
  | { kind: "recreate" }
  | { kind: "giveUp" }
  | { kind: "wait"; requeueAfterMs?: number };

/** Phases in which the sandbox holds (or is getting) a container. */
const activePhases = new Set<string>([SandboxPhase.Bound, SandboxPhase.Running]);

/**
 * Order matters: deletion beats everything, expiry beats recovery, a requested reset beats
 * failure handling, and only then is the container's health looked at.
 */
export function planSandbox(o: SandboxObservation): SandboxDecision {
  const { sandbox, now } = o;
  const { metadata, spec } = sandbox;
  const status = sandbox.status ?? {};
  const phase = status.phase;

  if (metadata.deletionTimestamp) {
    return metadata.finalizers.includes(SANDBOX_FINALIZER) ? { kind: "cleanup" } : { kind: "wait" };
  }
  if (!metadata.finalizers.includes(SANDBOX_FINALIZER)) return { kind: "addFinalizer" };
  if (phase === SandboxPhase.Expired)
    return expiredContainerStays(o) ? { kind: "stopExpired" } : { kind: "wait" };

  const remaining = untilExpiry(sandbox, now);
  if (remaining === 0) return { kind: "expire" };

  if (resetRequested(sandbox)) return { kind: "reset" };

  // A lost agent that comes back still running the container: the sandbox was never really gone.
  if (
    phase === SandboxPhase.Lost &&
    o.agent?.healthy &&
    o.onAgent?.present &&
    o.onAgent.phase === "Running"
  ) {
    return { kind: "revive" };
  }
  // A finished job: nothing to recover, whatever the failure policy.
  if (phase === SandboxPhase.Succeeded) return wait(remaining);
  if (phase === SandboxPhase.Failed || phase === SandboxPhase.Lost) {
    if (spec.failurePolicy !== "AutoRecreate") return wait(remaining);
    return withinRecovery(sandbox, now) ? { kind: "recreate" } : wait(remaining);
  }

  if (!status.assignedAgent || !status.sandboxID) {
    // Pending: a recreation after a failure that cannot find room gives up once its recovery
    // window has passed. A reset is a request, not a recovery: it never gives up.
    const scheduled = condition(status, SandboxCondition.Scheduled);
    if (scheduled?.reason === SandboxReason.Recreating && !withinRecovery(sandbox, now)) {
      return { kind: "giveUp" };
    }
    return { kind: "schedule" };
  }
  if (phase === SandboxPhase.Bound || !activePhases.has(phase ?? "")) return { kind: "start" };

  // Running on an assigned agent: is it still there?
  if (!o.agent?.healthy) return { kind: "lose" };
  const onAgent = o.onAgent;
  if (onAgent && !onAgent.present)
    return { kind: "fail", reason: SandboxReason.ContainerMissing, exitCode: undefined };
  if (onAgent?.present && onAgent.phase === "Exited") {
    if (onAgent.exitCode === 0) return { kind: "succeed" };
    return { kind: "fail", reason: SandboxReason.ContainerExited, exitCode: onAgent.exitCode ?? undefined };
  }
  // No status of the agent taken after the start yet. The next one may show a change the agent
  // reported before (a process that exited within a millisecond), with the same revision, so no
  // event would bring the sandbox back here: look again soon instead of waiting for one.
  if (!onAgent) return wait(Math.min(remaining ?? NEXT_STATUS_MS, NEXT_STATUS_MS));
  return wait(remaining);
}

/**
 * An Expired sandbox still pointing at its container has it stopped and removed, unless its agent,
 * answering, no longer lists it. The phase is written first, at expireTime, and the container then
 * gets its grace period; deciding from what the agent reports makes the removal survive a restart
 * in between. An agent that does not answer is retried until it counts as gone.
 */
function expiredContainerStays(o: SandboxObservation): boolean {
  const { assignedAgent, sandboxID } = o.sandbox.status ?? {};
  if (!assignedAgent || !sandboxID) return false;
  return !(o.agent?.healthy && o.onAgent?.present === false);
}

/** Milliseconds until spec.expireTime, for a sandbox that has not expired yet; undefined when it never will. */
export function untilExpiry(sandbox: Sandbox, now: number): number | undefined {
  if (sandbox.status?.phase === SandboxPhase.Expired || sandbox.metadata.deletionTimestamp) return undefined;
  const expireAt = sandbox.spec.expireTime ? Date.parse(sandbox.spec.expireTime) : Number.NaN;
  return Number.isNaN(expireAt) ? undefined : Math.max(expireAt - now, 0);
}

/** A reset runs when spec.resetRevision is newer than the last one accepted. */
export function resetRequested(sandbox: Sandbox): boolean {
  const requested = sandbox.spec.resetRevision ? Date.parse(sandbox.spec.resetRevision) : Number.NaN;
  if (Number.isNaN(requested)) return false;
  const accepted = sandbox.status?.acceptedResetRevision
    ? Date.parse(sandbox.status.acceptedResetRevision)
    : Number.NaN;
  return Number.isNaN(accepted) || requested > accepted;
}

/** Whether a failed sandbox is still inside its recovery window (measured from when Ready went False). */
export function withinRecovery(sandbox: Sandbox, now: number): boolean {
  const ready = condition(sandbox.status, SandboxCondition.Ready);
  const since = ready?.status === "False" ? Date.parse(ready.lastTransitionTime) : Number.NaN;
  if (Number.isNaN(since)) return true;
  const windowMs = (sandbox.spec.recoveryTimeoutSeconds ?? DEFAULT_RECOVERY_TIMEOUT_SECONDS) * 1000;
  return now - since <= windowMs;
}

/** How soon a Running sandbox with no agent status newer than its start is looked at again. */
export const NEXT_STATUS_MS = 1000;

function wait(remaining: number | undefined): SandboxDecision {
  return remaining === undefined ? { kind: "wait" } : { kind: "wait", requeueAfterMs: remaining };
}

/** The Kubernetes Event a Sandbox status change tells, as a pure function of the status before and after. */
import { SandboxCondition, SandboxPhase, SandboxReason, type SandboxStatus } from "@fast-sandbox/api";
import { EventAction, EventReason, type ObjectEvent } from "../event-reasons.ts";
import { condition } from "./transitions.ts";

const { Pending, Bound, Running, Succeeded, Failed, Lost, Expired } = SandboxPhase;

/**
 * The event of one status write, or undefined when it tells nothing new. Phases drive it: each
 * transition of transitions.ts that changes the phase has its event. One write is an event even
 * unchanged: a placement that again found no room (FailedScheduling), which the recorder folds
 * into a series rather than a new event.
 */
export function sandboxEvent(before: SandboxStatus, after: SandboxStatus): ObjectEvent | undefined {
  const from = before.phase;
  const to = after.phase;
  const scheduled = condition(after, SandboxCondition.Scheduled);
  const ready = condition(after, SandboxCondition.Ready);
  const agent = after.assignedAgent ?? before.assignedAgent;
  if (to === Pending && scheduled?.status === "False") {
    return pendingEvent(before, after, scheduled.reason, scheduled.message);
  }
  if (to === from) return undefined;
  switch (to) {
    case Bound:
      return normal(EventReason.Scheduled, EventAction.Schedule, capitalize(scheduled?.message ?? ""));
    case Running:
      return from === Lost
        ? normal(
            EventReason.AgentBack,
            EventAction.Observe,
            `Agent ${agent} is back; the container still runs`,
          )
        : normal(EventReason.Started, EventAction.Start, `Started on agent ${agent}`);
    case Succeeded:
      return normal(EventReason.Completed, EventAction.Observe, capitalize(ready?.message ?? ""));
    case Failed:
      return warning(EventReason.Failed, EventAction.Observe, failedNote(ready?.reason, ready?.message));
    case Lost:
      return warning(EventReason.Lost, EventAction.Observe, `Agent ${agent} stopped answering`);
    case Expired:
      return normal(EventReason.Expired, EventAction.Expire, "ExpireTime passed; stopping the container");
    default:
      return undefined;
  }
}

/**
 * The events of a fast create, which stores its object already placed (Bound) or started (Running),
 * so no status write of the reconciler tells them: Scheduled, then Started once it runs.
 */
export function fastCreateEvents(status: SandboxStatus): ObjectEvent[] {
  if (status.phase !== Bound && status.phase !== Running) return [];
  const placed = sandboxEvent({ phase: Pending }, { ...status, phase: Bound });
  const ran = status.phase === Running ? sandboxEvent({ phase: Bound }, status) : undefined;
  return [placed, ran].filter((e): e is ObjectEvent => e !== undefined);
}

/** The event of a released finalizer: the object goes now. */
export function deletedEvent(containerLeft: boolean): ObjectEvent {
  return normal(
    EventReason.Deleted,
    EventAction.Delete,
    containerLeft
      ? "Deleted without its agent; the janitor removes the container"
      : "Container removed; finalizer released",
  );
}

/** A Pending status with Scheduled=False: waiting for room, a failed create, a recreation or a reset. */
function pendingEvent(
  before: SandboxStatus,
  after: SandboxStatus,
  reason: string,
  message: string,
): ObjectEvent | undefined {
  // A recreation and a reset each start a new incarnation: the count says whether this write is one.
  const newIncarnation = (after.recreations ?? 0) !== (before.recreations ?? 0);
  switch (reason) {
    case SandboxReason.Recreating:
      return newIncarnation
        ? normal(
            EventReason.Recreating,
            EventAction.Recreate,
            `Recreating after a failure (recreation ${after.recreations})`,
          )
        : undefined;
    case SandboxReason.Resetting:
      return newIncarnation
        ? normal(EventReason.Resetting, EventAction.Reset, "Reset requested; starting a fresh container")
        : undefined;
    case SandboxReason.AgentCreateFailed:
    case SandboxReason.PortInUse:
      return before.phase === Pending
        ? undefined
        : warning(EventReason.CreateFailed, EventAction.Start, `${reason}: ${message}`);
    default:
      // Every attempt that found no place is told again; the recorder folds repeats into a series.
      return warning(EventReason.FailedScheduling, EventAction.Schedule, `${reason}: ${message}`);
  }
}

function failedNote(reason: string | undefined, message: string | undefined): string {
  return reason ? `${reason}: ${message ?? ""}` : capitalize(message ?? "");
}

function normal(reason: EventReason, action: EventAction, note: string): ObjectEvent {
  return { type: "Normal", reason, action, note };
}

function warning(reason: EventReason, action: EventAction, note: string): ObjectEvent {
  return { type: "Warning", reason, action, note };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

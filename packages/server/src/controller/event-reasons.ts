/** The reasons and actions of every Kubernetes Event the controller records (docs/kubernetes.md lists them). */
import type { StoredObject } from "@fast-sandbox/api";
import type { EventRecorder } from "../core/event-recorder.ts";

/** Why an event was recorded: UpperCamelCase, stable, documented. */
export const EventReason = {
  /** Sandbox: placed on an agent (the note names it). */
  Scheduled: "Scheduled",
  /** Sandbox: no agent can take it now (no room, no image, no pool): it stays Pending and is retried. */
  FailedScheduling: "FailedScheduling",
  /** Sandbox: the agent failed the create; Pending again for a retry, or Failed when the request is wrong. */
  CreateFailed: "CreateFailed",
  /** Sandbox: its container runs. */
  Started: "Started",
  /** Sandbox: its process exited with code 0. */
  Completed: "Completed",
  /** Sandbox: its container exited non-zero or vanished, or it could not be recreated in time. */
  Failed: "Failed",
  /** Sandbox: its agent stopped answering. */
  Lost: "Lost",
  /** Sandbox: the lost agent answers again and the container still runs. */
  AgentBack: "AgentBack",
  /** Sandbox: failurePolicy AutoRecreate places a new incarnation. */
  Recreating: "Recreating",
  /** Sandbox: spec.resetRevision asked for a fresh container. */
  Resetting: "Resetting",
  /** Sandbox: spec.expireTime passed. */
  Expired: "Expired",
  /** Sandbox: its container is gone and the finalizer released. */
  Deleted: "Deleted",
  /** Pool: agents are being launched (or draining ones taken back). */
  ScalingUp: "ScalingUp",
  /** Pool: surplus agents drain; each goes once empty. */
  ScalingDown: "ScalingDown",
  /** Pool: a drained, empty agent was removed. */
  AgentRemoved: "AgentRemoved",
  /** Pool: a launched agent never answered and was given up. */
  LaunchTimedOut: "LaunchTimedOut",
  /** Pool: an agent's Pod failed for good and is replaced. */
  AgentFailed: "AgentFailed",
  /** Pool: the spec does not validate; the pool is not scaled. */
  InvalidSpec: "InvalidSpec",
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];

/** What the controller did (or failed to do) about the object: a machine-readable verb. */
export const EventAction = {
  Schedule: "Schedule",
  Start: "Start",
  Observe: "Observe",
  Recreate: "Recreate",
  Reset: "Reset",
  Expire: "Expire",
  Delete: "Delete",
  Scale: "Scale",
  Remove: "Remove",
  Replace: "Replace",
  Validate: "Validate",
} as const;
export type EventAction = (typeof EventAction)[keyof typeof EventAction];

/** One event to record, before it names its object. */
export interface ObjectEvent {
  type: "Normal" | "Warning";
  reason: EventReason;
  action: EventAction;
  note: string;
}

/** Records `event` about `regarding`, if there is one. */
export function recordEvent(
  events: EventRecorder,
  regarding: StoredObject,
  event: ObjectEvent | undefined,
): void {
  if (!event) return;
  if (event.type === "Warning") events.warning(regarding, event.reason, event.action, event.note);
  else events.normal(regarding, event.reason, event.action, event.note);
}

/** The Kubernetes Events of one pool pass, as a pure function of what it observed and what it does. */
import { EventAction, EventReason, type ObjectEvent } from "../event-reasons.ts";
import type { ObservedAgent, PoolPlan } from "./pool-plan.ts";

/** What a pass does: its plan, and the agents it really removes (a drained one first sheds its prewarm). */
export interface PoolPass {
  agents: readonly ObservedAgent[];
  plan: Pick<PoolPlan, "launch" | "undrain" | "drain" | "desired">;
  removed: readonly string[];
}

/** Scaling up or down, and each agent removed: a drained empty one, or a launch that never answered. */
export function poolEvents(pass: PoolPass): ObjectEvent[] {
  const { plan } = pass;
  const events: ObjectEvent[] = [];
  if (plan.launch > 0 || plan.undrain.length > 0) {
    const parts = [
      ...(plan.launch > 0 ? [`launching ${plan.launch} agent${plan.launch === 1 ? "" : "s"}`] : []),
      ...(plan.undrain.length > 0 ? [`taking back draining ${plan.undrain.join(", ")}`] : []),
    ];
    events.push(
      normal(EventReason.ScalingUp, EventAction.Scale, `${sentence(parts.join("; "))}; want ${plan.desired}`),
    );
  }
  if (plan.drain.length > 0) {
    events.push(
      normal(
        EventReason.ScalingDown,
        EventAction.Scale,
        `Draining ${plan.drain.join(", ")}; want ${plan.desired}`,
      ),
    );
  }
  for (const id of pass.removed) {
    const agent = pass.agents.find((a) => a.id === id);
    events.push(
      agent?.launch === "starting" && !agent.healthy
        ? {
            type: "Warning",
            reason: EventReason.LaunchTimedOut,
            action: EventAction.Remove,
            note: `Agent ${id} never answered; removing it`,
          }
        : normal(EventReason.AgentRemoved, EventAction.Remove, `Agent ${id} drained and empty; removing it`),
    );
  }
  return events;
}

/** A pool whose spec does not validate (written with kubectl past the schema): the validation's message. */
export function invalidSpecEvent(err: unknown): ObjectEvent {
  const message = err instanceof Error ? err.message : String(err);
  return { type: "Warning", reason: EventReason.InvalidSpec, action: EventAction.Validate, note: message };
}

function normal(reason: EventReason, action: EventAction, note: string): ObjectEvent {
  return { type: "Normal", reason, action, note };
}

function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

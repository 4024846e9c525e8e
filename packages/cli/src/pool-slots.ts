/**
 * A pool's slots as fsb-ctl shows them: allocated of the slots of the agents that take sandboxes,
 * and apart from them the sandboxes still on agents that drain (or stop) or do not answer. The
 * status's own pair cannot be shown as "allocated of total": its total counts only serving agents
 * while its allocated counts every agent, so a drain read "2 of 1 allocated".
 */
import type { PoolAgent, PoolDetails } from "@fast-sandbox/sdk";

export interface PoolSlots {
  /** Sandboxes on serving agents (healthy, not draining, not stopping). */
  allocated: number;
  /** Slots of the serving agents. */
  total: number;
  /** Sandboxes still on draining or stopping agents. */
  onDraining: number;
  /** Sandboxes on agents that do not answer. */
  onUnhealthy: number;
}

/**
 * Summed from the pool's live agents (the rows `pools get` lists under it), so the figures agree
 * with that table and with each other; an agent never holds more sandboxes than its capacity.
 */
export function poolSlots(p: Pick<PoolDetails, "agents">): PoolSlots {
  const slots: PoolSlots = { allocated: 0, total: 0, onDraining: 0, onUnhealthy: 0 };
  for (const agent of p.agents) {
    if (isLeaving(agent)) slots.onDraining += agent.allocated;
    else if (!agent.healthy) slots.onUnhealthy += agent.allocated;
    else {
      slots.total += agent.capacity;
      slots.allocated += agent.allocated;
    }
  }
  return slots;
}

function isLeaving(agent: PoolAgent): boolean {
  return agent.draining || agent.launchState === "stopping";
}

/** `1/2`, then `+2 draining` and `+1 unhealthy` when there are such sandboxes (the SLOTS column). */
export function formatSlotsShort(s: PoolSlots): string {
  return [
    `${s.allocated}/${s.total}`,
    ...(s.onDraining ? [`+${s.onDraining} draining`] : []),
    ...(s.onUnhealthy ? [`+${s.onUnhealthy} unhealthy`] : []),
  ].join(" ");
}

/** `1 of 2 allocated`, then `, 2 more on draining agents` and the like (`pools get`). */
export function formatSlotsLong(s: PoolSlots): string {
  return [
    `${s.allocated} of ${s.total} allocated`,
    ...(s.onDraining ? [`${s.onDraining} more on draining agents`] : []),
    ...(s.onUnhealthy ? [`${s.onUnhealthy} more on agents not answering`] : []),
  ].join(", ");
}

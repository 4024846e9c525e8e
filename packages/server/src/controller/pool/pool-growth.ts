/** Whether a pool is about to get room, as a pure function of what the pool controller observes and plans. */
import type { ObservedAgent, PoolPlan } from "./pool-plan.ts";

/**
 * How a pool's room is going to change. `growing`: agents are really on their way (launched and
 * not answering yet, or a launch or an undrain is what the next pass will do for the demand seen).
 * `atMax`: it has poolMax agents and cannot grow. `selfRegistered`: nothing is launched for it;
 * its agents register themselves. `stable`: below poolMax, yet no launch is planned (the demand
 * fits in slots that are free but unsuitable, e.g. a port taken on every agent). `absent`: no
 * such pool, or it is being deleted. `returning`: its agents register themselves and the controller
 * started recently: agents it has not heard from yet may come back with their next heartbeat, until
 * `until` (epoch ms).
 */
export type PoolGrowth =
  | { kind: "growing"; starting: number; launching: number }
  | { kind: "returning"; until: number }
  | { kind: "atMax"; poolMax: number }
  | { kind: "selfRegistered" }
  | { kind: "stable" }
  | { kind: "absent" };

/** How creates and the pool controller talk about room: implemented by the pool controller. */
export interface PoolRoom {
  /**
   * A create of `sandbox` found no room: it counts as demand (so a launch is planned for it)
   * until {@link settle}; answers how the pool's room is going to change.
   */
  needRoom(namespace: string, pool: string, sandbox: string): PoolGrowth;
  /** The create got a slot (`placed`), or stopped waiting; an unplaced one still counts for a while. */
  settle(namespace: string, pool: string, sandbox: string, placed: boolean): void;
  /** How the pool's room is going to change, without noting demand. */
  growth(namespace: string, pool: string): PoolGrowth;
  /**
   * Whether agents the pool adds may have images none of its present agents has: only when they
   * may run on other nodes. Where they cannot, a create whose image is missing neither waits nor
   * counts as demand (new agents would not help it).
   */
  growthMayBringImages(namespace: string, pool: string): boolean;
}

export interface GrowthObservation {
  /** A launcher manages the pool (false: agents only register themselves). */
  managed: boolean;
  deleting: boolean;
  poolMax: number;
  agents: readonly ObservedAgent[];
  /** What the next pass would do for the demand seen now. */
  plan: Pick<PoolPlan, "launch" | "undrain">;
  /** Until when agents not heard from since the controller started may come back (epoch ms). */
  agentsReturnUntil: number;
  now: number;
}

/** Whether a create that found no room should wait: room is on its way, or may be. */
export function mayGetRoom(growth: PoolGrowth): boolean {
  return growth.kind === "growing" || growth.kind === "returning";
}

/** Growing means agents really are coming: only then does a create wait, and say so. */
export function poolGrowth(o: GrowthObservation): PoolGrowth {
  if (o.deleting) return { kind: "absent" };
  if (!o.managed) {
    return o.now < o.agentsReturnUntil
      ? { kind: "returning", until: o.agentsReturnUntil }
      : { kind: "selfRegistered" };
  }
  const live = o.agents.filter((a) => a.launch !== undefined && a.launch !== "stopping");
  // Launched and not yet answering (a registration not yet probed counts: it has not shown its room);
  // an agent that answered once and went silent is lost, not on its way.
  const starting = live.filter(
    (a) => a.launch === "starting" || (a.launch === "running" && !a.healthy && !a.lost),
  ).length;
  const launching = o.plan.launch + o.plan.undrain.length;
  if (starting > 0 || launching > 0) return { kind: "growing", starting, launching };
  if (o.now < o.agentsReturnUntil) return { kind: "returning", until: o.agentsReturnUntil };
  return live.length >= o.poolMax ? { kind: "atMax", poolMax: o.poolMax } : { kind: "stable" };
}

/** The pool controller's decision, as a pure function of what it observed: launch, drain, undrain, remove, status. */
import {
  type Condition,
  PoolCondition,
  PoolDefaults,
  PoolReason,
  type SandboxPoolSpec,
  type SandboxPoolStatus,
} from "@fast-sandbox/api";
import { setCondition } from "../conditions.ts";
import type { LaunchedAgentState } from "./agent-launcher.ts";

/** One agent of the pool, merged from the launcher (what was asked for) and the registry (what answers). */
export interface ObservedAgent {
  id: string;
  /** The launcher's view; undefined for an agent it did not launch (self-registered). */
  launch: LaunchedAgentState | undefined;
  launchedAt: number | undefined;
  /** Known to the registry and answering probes. */
  healthy: boolean;
  /** Answered before and stopped: lost, not starting (it may come back, but nothing launches it). */
  lost?: boolean;
  draining: boolean;
  capacity: number;
  allocated: number;
}

export interface PoolObservation {
  /** A validated spec with defaults filled. */
  spec: SandboxPoolSpec;
  generation: number;
  status: SandboxPoolStatus;
  agents: ObservedAgent[];
  /** Sandboxes of the pool waiting for a slot, and recent creates the pool had no slot for. */
  pending: number;
  /** The pool object is being deleted: every agent drains and goes once empty. */
  deleting: boolean;
  now: number;
}

export interface PoolPlan {
  /** How many agents to launch. */
  launch: number;
  /** Draining agents to put back into service (cheaper than launching new ones). */
  undrain: string[];
  /** Agents to stop placing sandboxes on. */
  drain: string[];
  /** Empty drained agents, and launches that never came up, to stop now. */
  remove: string[];
  /** The status to write; equal to the observed one when nothing changed. */
  status: SandboxPoolStatus;
  /** Agents the pool wants: ceil((active + pending + bufferMin) / perAgent), within [poolMin, poolMax]. */
  desired: number;
}

/** A launch that has not answered within this long is given up and replaced. */
export const LAUNCH_TIMEOUT_MS = 120_000;

/**
 * Scale up counts agents already on their way (starting) so a slow start never causes a second
 * launch for the same need. Scale down only ever drains: a draining agent keeps its sandboxes and
 * is removed when the last one is gone, so no running sandbox is killed. Idle capacity is kept up
 * to bufferMax free slots, which damps flapping between a launch and a drain.
 */
export function planPool(o: PoolObservation): PoolPlan {
  const { capacity } = o.spec;
  const perAgent = o.spec.maxSandboxesPerPod ?? PoolDefaults.maxSandboxesPerPod;
  // Decisions concern the agents this controller launched; self-registered agents in the pool add
  // capacity it does not manage, so they count only in the status.
  const live = o.agents.filter((a) => a.launch !== undefined && a.launch !== "stopping");
  const active = live.reduce((n, a) => n + a.allocated, 0);
  const demand = active + o.pending + capacity.bufferMin;
  const wanted = Math.ceil(demand / perAgent);
  const desired = o.deleting ? 0 : Math.min(capacity.poolMax, Math.max(capacity.poolMin, wanted));

  const remove: string[] = [];
  const timedOut = (a: ObservedAgent) =>
    a.launch === "starting" && !a.healthy && o.now - (a.launchedAt ?? o.now) > LAUNCH_TIMEOUT_MS;
  for (const a of live) if (timedOut(a) && a.allocated === 0) remove.push(a.id);

  const serving = live.filter((a) => !a.draining && !remove.includes(a.id));
  const draining = live.filter((a) => a.draining && !remove.includes(a.id));
  const undrain: string[] = [];
  const drain: string[] = [];
  let launch = 0;

  if (serving.length < desired) {
    // The fullest draining agents first: bringing them back saves the most relaunching.
    const back = [...draining].sort((a, b) => b.allocated - a.allocated || cmp(a.id, b.id));
    for (const a of back.slice(0, desired - serving.length)) undrain.push(a.id);
    launch = desired - serving.length - undrain.length;
  } else if (serving.length > desired) {
    let free = freeSlots(serving);
    const floor = o.pending + capacity.bufferMin;
    // Starting agents first (nothing on them yet), then the emptiest, so removal comes soonest.
    const candidates = [...serving].sort(
      (a, b) => Number(a.healthy) - Number(b.healthy) || a.allocated - b.allocated || cmp(b.id, a.id),
    );
    let count = serving.length;
    for (const a of candidates) {
      if (count <= desired) break;
      const overMax = count > capacity.poolMax;
      const freeAfter = free - slotsOf(a);
      if (!o.deleting && !overMax && (free <= capacity.bufferMax || freeAfter < floor)) break;
      drain.push(a.id);
      free = freeAfter;
      count--;
    }
  }

  for (const a of draining) {
    if (undrain.includes(a.id)) continue;
    if (a.allocated === 0) remove.push(a.id);
  }
  for (const id of drain) {
    const a = serving.find((x) => x.id === id);
    if (a && a.allocated === 0) remove.push(id);
  }

  const status = poolStatus(o, { desired, launch, drain, undrain, remove, wanted });
  return { launch, undrain, drain, remove, status, desired };
}

/** The plan's status part, in the shape poolStatus needs it. */
interface StatusPlan {
  desired: number;
  launch: number;
  drain: string[];
  undrain: string[];
  remove: string[];
  wanted: number;
}

function poolStatus(o: PoolObservation, p: StatusPlan): SandboxPoolStatus {
  const live = o.agents.filter((a) => a.launch !== "stopping");
  const ready = live.filter((a) => a.healthy && !a.draining);
  const now = new Date(o.now);
  let conditions: Condition[] | undefined = o.status.conditions;
  conditions = setCondition(conditions, readyCondition(o, ready.length, live.length), now);
  conditions = setCondition(conditions, scalingCondition(o, p, live), now);
  const next: SandboxPoolStatus = {
    observedGeneration: o.generation,
    currentAgents: live.length,
    readyAgents: ready.length,
    totalSlots: ready.reduce((n, a) => n + a.capacity, 0),
    allocatedSlots: live.reduce((n, a) => n + a.allocated, 0),
    conditions,
  };
  return sameStatus(o.status, next) ? o.status : next;
}

/**
 * The status of a pool whose spec fails validation: Ready=False, reason InvalidSpec, with the
 * validation message (which names the field); the other fields stay. `status` itself when that is
 * what it already says, so the caller writes (and tells) only a change.
 */
export function invalidSpecStatus(
  status: SandboxPoolStatus,
  generation: number,
  message: string,
  now: number,
): SandboxPoolStatus {
  const invalid = {
    type: PoolCondition.Ready,
    status: "False",
    reason: PoolReason.InvalidSpec,
    message,
  } as const;
  const next: SandboxPoolStatus = {
    ...status,
    observedGeneration: generation,
    conditions: setCondition(status.conditions, invalid, new Date(now)),
  };
  return sameStatus(status, next) ? status : next;
}

/** Ready: at least poolMin (and at least one) agents answer and take sandboxes. */
function readyCondition(
  o: PoolObservation,
  ready: number,
  live: number,
): Omit<Condition, "lastTransitionTime"> {
  const minimum = o.spec.capacity.poolMin;
  if (o.deleting) {
    return {
      type: PoolCondition.Ready,
      status: "False",
      reason: PoolReason.Deleting,
      message: "pool is being deleted",
    };
  }
  return ready >= Math.max(1, minimum)
    ? {
        type: PoolCondition.Ready,
        status: "True",
        reason: PoolReason.MinimumAgentsReady,
        message: `${ready} of ${live} agents ready`,
      }
    : {
        type: PoolCondition.Ready,
        status: "False",
        reason: PoolReason.AgentsStarting,
        message: `${ready} of at least ${Math.max(1, minimum)} agents ready`,
      };
}

/** Scaling: up while launches or undrains are under way, down while agents drain, else stable (or at poolMax). */
function scalingCondition(
  o: PoolObservation,
  p: StatusPlan,
  live: ObservedAgent[],
): Omit<Condition, "lastTransitionTime"> {
  const scalingUp = p.launch > 0 || p.undrain.length > 0 || live.some((a) => a.launch === "starting");
  const scalingDown = p.drain.length > 0 || live.some((a) => a.draining);
  if (scalingUp) {
    return {
      type: PoolCondition.Scaling,
      status: "True",
      reason: PoolReason.ScalingUp,
      message: `scaling to ${p.desired} agents`,
    };
  }
  if (scalingDown) {
    return {
      type: PoolCondition.Scaling,
      status: "True",
      reason: PoolReason.ScalingDown,
      message: `draining to ${p.desired} agents`,
    };
  }
  return p.wanted > o.spec.capacity.poolMax
    ? {
        type: PoolCondition.Scaling,
        status: "True",
        reason: PoolReason.AtMaximum,
        message: `demand needs ${p.wanted} agents; poolMax is ${o.spec.capacity.poolMax}`,
      }
    : {
        type: PoolCondition.Scaling,
        status: "False",
        reason: PoolReason.Stable,
        message: `${live.length} agents match the demand`,
      };
}

/** Equal apart from condition transition times that did not move (setCondition keeps them). */
export function sameStatus(a: SandboxPoolStatus, b: SandboxPoolStatus): boolean {
  return JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));
}

function normalise(s: SandboxPoolStatus) {
  return {
    observedGeneration: s.observedGeneration ?? 0,
    currentAgents: s.currentAgents ?? 0,
    readyAgents: s.readyAgents ?? 0,
    totalSlots: s.totalSlots ?? 0,
    allocatedSlots: s.allocatedSlots ?? 0,
    conditions: [...(s.conditions ?? [])]
      .sort((x, y) => cmp(x.type, y.type))
      .map((c) => [c.type, c.status, c.reason, c.message, c.lastTransitionTime]),
  };
}

function freeSlots(agents: readonly ObservedAgent[]): number {
  return agents.reduce((n, a) => n + slotsOf(a), 0);
}

/** Free slots an agent offers; a starting agent is counted at its capacity. */
function slotsOf(a: ObservedAgent): number {
  return Math.max(0, a.capacity - a.allocated);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

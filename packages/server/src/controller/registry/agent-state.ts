/** One agent as the registry holds it: its info, cached images, ready prewarmed containers and allocations. */
import type { AgentInfo, AgentSnapshot } from "./agent-info.ts";
import type { PoolIndex } from "./pool-index.ts";

// `keys.size` is the agent's load, read by the pool heaps' order.
export interface AgentState {
  info: AgentInfo;
  images: ReadonlySet<string>;
  /** Ready prewarmed containers by prewarm key; only keys with a count above 0. */
  prewarm: Map<string, number>;
  /** False for a placeholder created by `restore` before the agent registered. */
  registered: boolean;
  /** The keys of the allocations held on it. */
  keys: Set<string>;
  /** The pool it is indexed in; undefined for placeholders. */
  pool: PoolIndex | undefined;
  /** Whether it sits in its pool's heaps, i.e. is healthy, not draining and has a free slot. */
  queued: boolean;
}

/** A state with no allocations, not yet in any pool. */
export function newAgentState(
  info: AgentInfo,
  images: ReadonlySet<string>,
  prewarm: Map<string, number>,
  registered: boolean,
): AgentState {
  return { info, images, prewarm, registered, keys: new Set(), pool: undefined, queued: false };
}

/** Whether the agent can take a sandbox now: registered, healthy, not draining, with a free slot. */
export function isSchedulable(agent: AgentState): boolean {
  return (
    agent.registered &&
    agent.info.healthy &&
    agent.info.draining !== true &&
    agent.keys.size < agent.info.capacity
  );
}

/** What decides whether an agent can take a sandbox; a change in it may be room for a waiting create. */
export function roomOf(agent: AgentState): string {
  const { info } = agent;
  return [agent.queued, info.capacity, info.address, [...agent.images].sort().join(",")].join("|");
}

/** The caller's own copy of what the registry knows about the agent. */
export function snapshotOf(agent: AgentState): AgentSnapshot {
  return {
    ...agent.info,
    images: [...agent.info.images],
    allocated: agent.keys.size,
    placeholder: !agent.registered,
  };
}

// What a not-yet-registered agent looks like: no address, pool or capacity, so it is never chosen.
export function placeholderInfo(id: string): AgentInfo {
  return {
    id,
    address: "",
    url: "",
    nodeName: "",
    pool: "",
    namespace: "",
    capacity: 0,
    images: [],
    healthy: false,
    lastHeartbeat: 0,
  };
}

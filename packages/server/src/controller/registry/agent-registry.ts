/** The agent registry: places sandboxes on agents in memory and owns their slots and ports. */
import { ErrorCode, FsbError, type NetworkModeName } from "@fast-sandbox/api";
import { ChangeSignal } from "../../core/change-signal.ts";
import type { AgentInfo, AgentSnapshot } from "./agent-info.ts";
import { type AgentState, newAgentState, placeholderInfo, roomOf, snapshotOf } from "./agent-state.ts";
import { ImageNameCache } from "./image-name-cache.ts";
import { type ImageHolderAgent, imageHolders, missingImageMessage } from "./missing-image.ts";
import { noFitMessage } from "./no-fit-message.ts";
import { tallyNoFit } from "./no-fit-tally.ts";
import { choose, PoolIndexes, type PoolRef } from "./pool-index.ts";
import { PortBook } from "./port-book.ts";
import { checkAgentInfo, nonEmptyString, requestPorts, restoredPorts } from "./registry-input.ts";
import { ReleaseMemory } from "./release-memory.ts";

export type { PoolRef } from "./pool-index.ts";

/** What a sandbox asks of the scheduler. */
export interface AllocationRequest {
  /** The sandbox's `namespace/name`; an allocation is held under this key until released. */
  key: string;
  pool: string;
  namespace: string;
  /** Any accepted reference form; normalised before it is matched against agents' caches. */
  image: string;
  /** Exposed ports; each must be free on the chosen agent's address when the sandbox shares it (mode agent). */
  ports: readonly number[];
  /** The sandbox's own network mode; unset means the agent's. */
  networkMode?: NetworkModeName;
  /** Chosen whenever it passes the filters, whatever the score (e.g. to go back to the same agent). */
  preferAgent?: string;
  /** Never chosen (e.g. agents that just failed to create this sandbox). */
  avoidAgents?: readonly string[];
  /**
   * Only agents that have the image cached qualify (agents that cannot pull). With none in the
   * pool having it at all, the error is FAILED_PRECONDITION instead of RESOURCE_EXHAUSTED.
   */
  requireImage?: boolean;
  /** How messages name the sandbox (e.g. `namespace/name`); the key when absent. */
  displayName?: string;
  /**
   * The prewarm key of the sandbox's spec, when it could be started from a prewarmed container:
   * agents holding a ready one are preferred, and the one chosen counts one fewer until it reports.
   */
  prewarmKey?: string;
}

/** A held slot (and ports) on one agent. */
export interface Allocation {
  key: string;
  agentId: string;
  /** The agent's current address; empty while the agent is a placeholder. */
  address: string;
  url: string;
  nodeName: string;
  ports: number[];
}

/** An allocation found in the world after a restart: in the store or in an agent's status. */
export interface RestoredAllocation {
  agentId: string;
  ports: readonly number[];
}

/** Counts for gauges and pool status. */
export interface RegistryStats {
  /** Registered agents (placeholders excluded). */
  agents: number;
  healthyAgents: number;
  /** Sum of registered agents' capacities. */
  slotsTotal: number;
  /** Allocations on registered agents; may exceed `slotsTotal` after a shrink or a restore. */
  slotsUsed: number;
  /** Slots an allocate could take now: free slots of healthy agents that are not draining. */
  slotsFree: number;
}

interface AllocationRecord {
  key: string;
  agent: AgentState;
  ports: readonly number[];
  /** Where the ports are booked; undefined while the agent is a placeholder without an address. */
  bookedAt: string | undefined;
}

/**
 * The in-memory scheduler. Every method is synchronous, so a check and the reservation it
 * justifies can never interleave with another allocation. Allocation costs O(log n) in the pool's
 * size when the best agents fit, and never more than O(n).
 */
export class AgentRegistry {
  /**
   * Notified whenever room may have appeared: an agent became schedulable (registered, healthy
   * again, drain lifted, a slot freed on a full one), its capacity or images changed, ports were
   * freed (a release, an agent removed). Not on every status refresh: a create that found no room
   * wakes only when a retry could succeed.
   */
  readonly changes = new ChangeSignal();
  readonly #released: ReleaseMemory;
  readonly #agents = new Map<string, AgentState>();
  readonly #pools = new PoolIndexes();
  readonly #allocations = new Map<string, AllocationRecord>();
  readonly #ports = new PortBook();
  readonly #imageNames = new ImageNameCache();

  /**
   * Registers an agent or refreshes it from a status probe. Its allocations stay (their ports
   * move along if the address changed); a placeholder becomes a real agent. Cached images are
   * normalised, and names that are not valid references are dropped: they can never match a request.
   */
  upsertAgent(info: AgentInfo): AgentSnapshot {
    const { id, address, images, prewarm } = checkAgentInfo(info, this.#imageNames);
    let agent = this.#agents.get(id);
    const before = agent?.registered ? roomOf(agent) : undefined;
    if (agent === undefined) {
      agent = newAgentState(info, images, prewarm, true);
      this.#agents.set(id, agent);
    } else {
      this.#pools.leave(agent);
    }
    // Draining is the controller's decision, not the agent's: a status refresh must not undo it.
    const draining = info.draining ?? agent.info.draining;
    agent.info = {
      ...info,
      id,
      address,
      healthy: info.healthy === true,
      images: [...images],
      draining,
      prewarm: Object.fromEntries(prewarm),
    };
    agent.images = images;
    agent.prewarm = prewarm;
    agent.registered = true;
    this.#attach(agent);
    if (before !== roomOf(agent)) this.changes.notify();
    return snapshotOf(agent);
  }

  /** Records a probe result; a healthy answer also refreshes `lastHeartbeat`. Returns whether the agent is registered. */
  markHealthy(id: string, healthy: boolean, now: number): boolean {
    const agent = this.#agents.get(id);
    if (agent === undefined || !agent.registered) return false;
    const wasQueued = agent.queued;
    agent.info.healthy = healthy;
    if (healthy) agent.info.lastHeartbeat = now;
    this.#pools.requeue(agent);
    if (!wasQueued && agent.queued) this.changes.notify();
    return true;
  }

  /** Marks healthy agents whose last heartbeat is older than `maxAgeMs` unhealthy; returns their ids. */
  expireStale(now: number, maxAgeMs: number): string[] {
    const expired: string[] = [];
    for (const agent of this.#agents.values()) {
      if (!agent.registered || !agent.info.healthy || now - agent.info.lastHeartbeat <= maxAgeMs) continue;
      agent.info.healthy = false;
      this.#pools.requeue(agent);
      expired.push(agent.info.id);
    }
    return expired;
  }

  /** A draining agent keeps its sandboxes but takes no new ones. Returns whether the agent is registered. */
  setDraining(id: string, draining: boolean): boolean {
    const agent = this.#agents.get(id);
    if (agent === undefined || !agent.registered) return false;
    const wasQueued = agent.queued;
    agent.info.draining = draining;
    this.#pools.requeue(agent);
    if (!wasQueued && agent.queued) this.changes.notify();
    return true;
  }

  /** Forgets an agent (or placeholder) and every allocation on it; returns the keys of those sandboxes. */
  removeAgent(id: string): string[] {
    const agent = this.#agents.get(id);
    if (agent === undefined) return [];
    this.#pools.leave(agent);
    const keys = [...agent.keys];
    for (const key of keys) {
      const record = this.#allocations.get(key);
      if (record === undefined) continue;
      if (record.bookedAt !== undefined) this.#ports.free(record.bookedAt, record.ports);
      this.#allocations.delete(key);
    }
    this.#agents.delete(id);
    this.changes.notify();
    return keys;
  }

  agent(id: string): AgentSnapshot | undefined {
    const agent = this.#agents.get(id);
    return agent === undefined ? undefined : snapshotOf(agent);
  }

  /** Every agent, placeholders included (flagged), in registration order. */
  agents(): AgentSnapshot[] {
    return [...this.#agents.values()].map((agent) => snapshotOf(agent));
  }

  /** Whether an agent (healthy or not) is registered in the pool: a pool exists while it has one. */
  hasAgentsIn(namespace: string, pool: string): boolean {
    return this.#pools.get(namespace, pool) !== undefined;
  }

  /** The namespace/pool pairs that have registered agents. */
  pools(): PoolRef[] {
    return [...this.#pools.all()].map((pool) => ({ ...pool.ref }));
  }

  /**
   * Places a sandbox and reserves its slot and ports in one synchronous step. Eligible agents are
   * in the request's pool and namespace, healthy, not draining, with a free slot, every requested
   * port free on their address, and not in `avoidAgents`; among them `preferAgent` wins, then an
   * agent with the image cached, then the least loaded, then the lowest id.
   *
   * Idempotent: when `key` already holds an allocation it is returned unchanged, whatever the
   * rest of the request says. Throws RESOURCE_EXHAUSTED saying why nothing fits, and
   * INVALID_ARGUMENT for a malformed request.
   */
  allocate(request: AllocationRequest): Allocation {
    const key = nonEmptyString(request?.key, "key");
    const held = this.#allocations.get(key);
    if (held !== undefined) return this.#view(held);

    const namespace = nonEmptyString(request.namespace, "namespace");
    const poolName = nonEmptyString(request.pool, "pool");
    const image = this.#imageNames.normalize(nonEmptyString(request.image, "image"));
    const ports = requestPorts(request.ports);
    const avoid = request.avoidAgents?.length ? new Set(request.avoidAgents) : undefined;

    const pool = this.#pools.get(namespace, poolName);
    const requireImage = request.requireImage === true;
    // Only a sandbox in the agent's namespace shares its address; the others' ports are their own.
    const portsOn = (agent: AgentState) =>
      (request.networkMode ?? agent.info.networkMode ?? "agent") === "agent" ? ports : [];
    const fits = (agent: AgentState): boolean =>
      (avoid === undefined || !avoid.has(agent.info.id)) &&
      (!requireImage || agent.images.has(image)) &&
      this.#ports.allFree(agent.info.address, portsOn(agent));
    const prewarmKey = request.prewarmKey;
    const preferred = request.preferAgent === undefined ? undefined : this.#agents.get(request.preferAgent);
    const chosen =
      pool === undefined ? undefined : choose(pool, { preferred, prewarmKey, image, requireImage }, fits);
    if (chosen === undefined) {
      const name = request.displayName ?? key;
      if (requireImage && pool !== undefined && ![...pool.agents].some((a) => a.images.has(image))) {
        const holders = imageHolders(this.#registered(image));
        throw new FsbError(
          ErrorCode.FailedPrecondition,
          missingImageMessage(image, namespace, poolName, holders),
          {
            field: "image",
          },
        );
      }
      const failed = {
        name,
        namespace,
        pool: poolName,
        ports,
        avoid,
        requiredImage: requireImage ? image : undefined,
      };
      throw new FsbError(
        ErrorCode.ResourceExhausted,
        noFitMessage(tallyNoFit(failed, this.#pools, this.#ports)),
      );
    }
    if (prewarmKey !== undefined) this.#pools.takePrewarm(chosen, prewarmKey);
    return this.#view(this.#reserve(key, chosen, portsOn(chosen)));
  }

  constructor(options: { now?: () => number } = {}) {
    this.#released = new ReleaseMemory(options.now ?? Date.now);
  }

  /** Frees the slot and ports held under `key`; returns whether there was anything to free. */
  release(key: string): boolean {
    const record = this.#allocations.get(key);
    if (record === undefined) return false;
    this.#allocations.delete(key);
    this.#released.remember(key);
    if (record.bookedAt !== undefined) this.#ports.free(record.bookedAt, record.ports);
    const agent = record.agent;
    agent.keys.delete(key);
    if (!agent.registered && agent.keys.size === 0) this.#agents.delete(agent.info.id);
    else this.#pools.requeue(agent);
    this.changes.notify();
    return true;
  }

  /**
   * Whether `key` was released at or after `since` (epoch ms). A status report taken before that
   * release still lists the sandbox; restoring from it would resurrect a freed slot.
   */
  releasedSince(key: string, since: number): boolean {
    return this.#released.releasedSince(key, since);
  }

  /**
   * Records an allocation found after a restart, so rebuilding never hands out a slot or port
   * twice. It is taken as fact: it may overfill its agent or conflict on a port, and an unknown
   * agent is remembered as a placeholder until it registers. A different allocation already held
   * under `key` is replaced; the same one is kept.
   */
  restore(key: string, found: RestoredAllocation): Allocation {
    nonEmptyString(key, "key");
    const agentId = nonEmptyString(found?.agentId, "agentId");
    // Ports come from the world here, not from a user: repeats are tolerated, not refused.
    const ports = restoredPorts(found.ports);

    const held = this.#allocations.get(key);
    if (held !== undefined) {
      const same =
        held.agent.info.id === agentId &&
        held.ports.length === ports.length &&
        held.ports.every((port) => ports.includes(port));
      if (same) return this.#view(held);
      this.release(key);
    }
    let agent = this.#agents.get(agentId);
    if (agent === undefined) {
      agent = newAgentState(placeholderInfo(agentId), new Set(), new Map(), false);
      this.#agents.set(agentId, agent);
    }
    return this.#view(this.#reserve(key, agent, ports));
  }

  allocationOf(key: string): Allocation | undefined {
    const record = this.#allocations.get(key);
    return record === undefined ? undefined : this.#view(record);
  }

  allocations(): Allocation[] {
    return [...this.#allocations.values()].map((record) => this.#view(record));
  }

  /** The keys allocated on one agent (to compare with what the agent reports). */
  keysOn(agentId: string): string[] {
    return [...(this.#agents.get(agentId)?.keys ?? [])];
  }

  /** Exposed ports held by allocations, counted once per address and port. */
  portsBooked(): number {
    return this.#ports.booked;
  }

  /** Counts over every registered agent, or over one pool's. */
  stats(pool?: PoolRef): RegistryStats {
    const agents =
      pool === undefined
        ? this.#agents.values()
        : (this.#pools.get(pool.namespace, pool.pool)?.agents.values() ?? []);
    const stats: RegistryStats = { agents: 0, healthyAgents: 0, slotsTotal: 0, slotsUsed: 0, slotsFree: 0 };
    for (const agent of agents) {
      if (!agent.registered) continue;
      stats.agents++;
      stats.slotsTotal += agent.info.capacity;
      stats.slotsUsed += agent.keys.size;
      if (!agent.info.healthy) continue;
      stats.healthyAgents++;
      if (!agent.info.draining) stats.slotsFree += Math.max(0, agent.info.capacity - agent.keys.size);
    }
    return stats;
  }

  #reserve(key: string, agent: AgentState, ports: readonly number[]): AllocationRecord {
    const bookedAt = agent.registered ? agent.info.address : undefined;
    const record: AllocationRecord = { key, agent, ports, bookedAt };
    if (bookedAt !== undefined) this.#ports.reserve(bookedAt, ports);
    agent.keys.add(key);
    this.#allocations.set(key, record);
    this.#pools.requeue(agent);
    return record;
  }

  // Puts a registered agent into its pool's index and books its allocations' ports at its current address.
  #attach(agent: AgentState): void {
    this.#pools.join(agent);
    const { address } = agent.info;
    for (const allocationKey of agent.keys) {
      const record = this.#allocations.get(allocationKey);
      if (record === undefined || record.bookedAt === address) continue;
      if (record.bookedAt !== undefined) this.#ports.free(record.bookedAt, record.ports);
      this.#ports.reserve(address, record.ports);
      record.bookedAt = address;
    }
  }

  // Every registered agent, as the missing-image message sees it (an O(n) pass, only on that failure).
  *#registered(image: string): Iterable<ImageHolderAgent> {
    for (const a of this.#agents.values()) {
      if (!a.registered) continue;
      const { namespace, pool, nodeName } = a.info;
      yield { namespace, pool, nodeName, hasImage: a.images.has(image) };
    }
  }

  #view(record: AllocationRecord): Allocation {
    const { info } = record.agent;
    return {
      key: record.key,
      agentId: info.id,
      address: info.address,
      url: info.url,
      nodeName: info.nodeName,
      ports: [...record.ports],
    };
  }
}

/** The Atomic Registry (design §6): places sandboxes on agents in memory and owns their slots and ports. */
import { ErrorCode, FsbError, invalidArgument } from "@fast-sandbox/api";
import { ChangeSignal } from "../../core/change-signal.ts";
import type { AgentInfo, AgentSnapshot } from "./agent-info.ts";
import { ImageNameCache } from "./image-name-cache.ts";
import { IndexedHeap } from "./indexed-heap.ts";
import { type NoFitTally, noFitMessage } from "./no-fit-message.ts";
import { PortBook } from "./port-book.ts";

const MIN_PORT = 1;
const MAX_PORT = 65_535;

/** What a sandbox asks of the scheduler. */
export interface AllocationRequest {
  /** The sandbox's `namespace/name`; an allocation is held under this key until released. */
  key: string;
  pool: string;
  namespace: string;
  /** Any accepted reference form; normalised before it is matched against agents' caches. */
  image: string;
  /** Exposed ports; each must be free on the chosen agent's address. */
  ports: readonly number[];
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

/** Names one pool: pools are namespaced. */
export interface PoolRef {
  namespace: string;
  pool: string;
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

// One agent's mutable state; `keys.size` is its load, read by the heaps' order.
interface AgentState {
  info: AgentInfo;
  images: ReadonlySet<string>;
  /** Ready prewarmed containers by prewarm key; only keys with a count above 0. */
  prewarm: Map<string, number>;
  /** False for a placeholder created by `restore` before the agent registered. */
  registered: boolean;
  keys: Set<string>;
  /** The pool it is indexed in; undefined for placeholders. */
  pool: PoolIndex | undefined;
  /** Whether it sits in its pool's heaps, i.e. is healthy, not draining and has a free slot. */
  queued: boolean;
}

// The agents of one namespace/pool: all of them, and the schedulable ones ordered by load, overall and per cached image.
interface PoolIndex {
  ref: PoolRef;
  agents: Set<AgentState>;
  open: IndexedHeap<AgentState>;
  byImage: Map<string, IndexedHeap<AgentState>>;
  /** Schedulable agents holding a ready prewarmed container, by prewarm key. */
  byPrewarm: Map<string, IndexedHeap<AgentState>>;
}

interface AllocationRecord {
  key: string;
  agent: AgentState;
  ports: readonly number[];
  /** Where the ports are booked; undefined while the agent is a placeholder without an address. */
  bookedAt: string | undefined;
}

/**
 * Least loaded first (allocated/capacity, compared by cross-multiplying to stay exact), then by
 * id so the choice is deterministic. Only agents with a free slot (capacity > 0) are compared.
 */
function byLoadThenId(a: AgentState, b: AgentState): number {
  const load = a.keys.size * b.info.capacity - b.keys.size * a.info.capacity;
  if (load !== 0) return load;
  return a.info.id < b.info.id ? -1 : a.info.id > b.info.id ? 1 : 0;
}

function poolKey(namespace: string, pool: string): string {
  return `${namespace}/${pool}`;
}

function nonEmptyString(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") throw invalidArgument(field, "must be a non-empty string");
  return value;
}

function checkPort(port: unknown, field: string): number {
  if (!Number.isInteger(port) || (port as number) < MIN_PORT || (port as number) > MAX_PORT) {
    throw invalidArgument(field, `must be an integer ${MIN_PORT}-${MAX_PORT}, got ${String(port)}`);
  }
  return port as number;
}

/**
 * The in-memory scheduler. Every method is synchronous, so a check and the reservation it
 * justifies can never interleave with another allocation. Allocation costs O(log n) in the pool's
 * size when the best agents fit, and never more than O(n).
 */
/** How long a release is remembered: longer than any status probe can be in flight. */
const RELEASE_MEMORY_MS = 60_000;

export class AgentRegistry {
  /**
   * Notified whenever room may have appeared: an agent became schedulable (registered, healthy
   * again, drain lifted, a slot freed on a full one), its capacity or images changed, ports were
   * freed (a release, an agent removed). Not on every status refresh: a create that found no room
   * wakes only when a retry could succeed.
   */
  readonly changes = new ChangeSignal();
  readonly #now: () => number;
  /** Recent releases by key, oldest first, so a stale report cannot bring a freed slot back. */
  readonly #released = new Map<string, number>();
  readonly #agents = new Map<string, AgentState>();
  readonly #pools = new Map<string, PoolIndex>();
  readonly #allocations = new Map<string, AllocationRecord>();
  readonly #ports = new PortBook();
  readonly #imageNames = new ImageNameCache();

  /**
   * Registers an agent or refreshes it from a status probe. Its allocations stay (their ports
   * move along if the address changed); a placeholder becomes a real agent. Cached images are
   * normalised, and names that are not valid references are dropped: they can never match a request.
   */
  upsertAgent(info: AgentInfo): AgentSnapshot {
    const id = nonEmptyString(info?.id, "agent.id");
    const address = nonEmptyString(info.address, "agent.address");
    nonEmptyString(info.pool, "agent.pool");
    nonEmptyString(info.namespace, "agent.namespace");
    if (!Number.isInteger(info.capacity) || info.capacity < 0) {
      throw invalidArgument("agent.capacity", `must be a non-negative integer, got ${String(info.capacity)}`);
    }
    if (!Array.isArray(info.images)) throw invalidArgument("agent.images", "must be an array of image names");
    const images = new Set<string>();
    for (const image of info.images) {
      const normalized = this.#imageNames.tryNormalize(image);
      if (normalized !== undefined) images.add(normalized);
    }

    const prewarm = new Map<string, number>();
    for (const [key, ready] of Object.entries(info.prewarm ?? {})) {
      if (Number.isInteger(ready) && ready > 0) prewarm.set(key, ready);
    }

    let agent = this.#agents.get(id);
    const before = agent?.registered ? roomOf(agent) : undefined;
    if (agent === undefined) {
      agent = { info, images, prewarm, registered: true, keys: new Set(), pool: undefined, queued: false };
      this.#agents.set(id, agent);
    } else {
      this.#detach(agent);
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
    return this.#snapshot(agent);
  }

  /** Records a probe result; a healthy answer also refreshes `lastHeartbeat`. Returns whether the agent is registered. */
  markHealthy(id: string, healthy: boolean, now: number): boolean {
    const agent = this.#agents.get(id);
    if (agent === undefined || !agent.registered) return false;
    const wasQueued = agent.queued;
    agent.info.healthy = healthy;
    if (healthy) agent.info.lastHeartbeat = now;
    this.#requeue(agent);
    if (!wasQueued && agent.queued) this.changes.notify();
    return true;
  }

  /** Marks healthy agents whose last heartbeat is older than `maxAgeMs` unhealthy; returns their ids. */
  expireStale(now: number, maxAgeMs: number): string[] {
    const expired: string[] = [];
    for (const agent of this.#agents.values()) {
      if (!agent.registered || !agent.info.healthy || now - agent.info.lastHeartbeat <= maxAgeMs) continue;
      agent.info.healthy = false;
      this.#requeue(agent);
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
    this.#requeue(agent);
    if (!wasQueued && agent.queued) this.changes.notify();
    return true;
  }

  /** Forgets an agent (or placeholder) and every allocation on it; returns the keys of those sandboxes. */
  removeAgent(id: string): string[] {
    const agent = this.#agents.get(id);
    if (agent === undefined) return [];
    this.#detach(agent);
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
    return agent === undefined ? undefined : this.#snapshot(agent);
  }

  /** Every agent, placeholders included (flagged), in registration order. */
  agents(): AgentSnapshot[] {
    return [...this.#agents.values()].map((agent) => this.#snapshot(agent));
  }

  /** The namespace/pool pairs that have registered agents. */
  pools(): PoolRef[] {
    return [...this.#pools.values()].map((pool) => ({ ...pool.ref }));
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
    const ports = this.#requestPorts(request.ports);
    const avoid = request.avoidAgents?.length ? new Set(request.avoidAgents) : undefined;

    const pool = this.#pools.get(poolKey(namespace, poolName));
    const requireImage = request.requireImage === true;
    const fits = (agent: AgentState): boolean =>
      (avoid === undefined || !avoid.has(agent.info.id)) &&
      (!requireImage || agent.images.has(image)) &&
      this.#ports.allFree(agent.info.address, ports);

    let chosen: AgentState | undefined;
    if (request.preferAgent !== undefined && pool !== undefined) {
      const preferred = this.#agents.get(request.preferAgent);
      if (preferred !== undefined && preferred.pool === pool && preferred.queued && fits(preferred)) {
        chosen = preferred;
      }
    }
    const prewarmKey = request.prewarmKey;
    if (chosen === undefined && pool !== undefined && prewarmKey !== undefined) {
      chosen = pool.byPrewarm.get(prewarmKey)?.find(fits);
    }
    if (chosen === undefined && pool !== undefined) {
      chosen = pool.byImage.get(image)?.find(fits) ?? (requireImage ? undefined : pool.open.find(fits));
    }
    if (chosen === undefined) {
      const name = request.displayName ?? key;
      if (requireImage && pool !== undefined && ![...pool.agents].some((a) => a.images.has(image))) {
        throw new FsbError(
          ErrorCode.FailedPrecondition,
          `image ${image} is not on any agent of pool "${poolName}" in namespace "${namespace}"; ` +
            "agents do not pull images, so load it into the nodes' containerd first",
          { field: "image" },
        );
      }
      throw new FsbError(
        ErrorCode.ResourceExhausted,
        noFitMessage(this.#tally(name, namespace, poolName, ports, avoid, requireImage ? image : undefined)),
      );
    }
    if (prewarmKey !== undefined) this.#takePrewarm(chosen, prewarmKey);
    return this.#view(this.#reserve(key, chosen, ports));
  }

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Frees the slot and ports held under `key`; returns whether there was anything to free. */
  release(key: string): boolean {
    const record = this.#allocations.get(key);
    if (record === undefined) return false;
    this.#allocations.delete(key);
    this.#remember(key);
    if (record.bookedAt !== undefined) this.#ports.free(record.bookedAt, record.ports);
    const agent = record.agent;
    agent.keys.delete(key);
    if (!agent.registered && agent.keys.size === 0) this.#agents.delete(agent.info.id);
    else this.#requeue(agent);
    this.changes.notify();
    return true;
  }

  /**
   * Whether `key` was released at or after `since` (epoch ms). A status report taken before that
   * release still lists the sandbox; restoring from it would resurrect a freed slot.
   */
  releasedSince(key: string, since: number): boolean {
    const at = this.#released.get(key);
    return at !== undefined && at >= since;
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
    if (!Array.isArray(found.ports)) throw invalidArgument("ports", "must be an array of port numbers");
    // Ports come from the world here, not from a user: repeats are tolerated, not refused.
    const ports = [...new Set(found.ports.map((port, i) => checkPort(port, `ports[${i}]`)))];

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
      agent = {
        info: placeholderInfo(agentId),
        images: new Set(),
        prewarm: new Map(),
        registered: false,
        keys: new Set(),
        pool: undefined,
        queued: false,
      };
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
        : (this.#pools.get(poolKey(pool.namespace, pool.pool))?.agents.values() ?? []);
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

  #requestPorts(ports: unknown): number[] {
    if (!Array.isArray(ports)) throw invalidArgument("ports", "must be an array of port numbers");
    const seen = new Set<number>();
    ports.forEach((port, i) => {
      const field = `ports[${i}]`;
      if (seen.has(checkPort(port, field))) throw invalidArgument(field, `port ${port} is listed twice`);
      seen.add(port);
    });
    return [...ports];
  }

  #reserve(key: string, agent: AgentState, ports: readonly number[]): AllocationRecord {
    const bookedAt = agent.registered ? agent.info.address : undefined;
    const record: AllocationRecord = { key, agent, ports, bookedAt };
    if (bookedAt !== undefined) this.#ports.reserve(bookedAt, ports);
    agent.keys.add(key);
    this.#allocations.set(key, record);
    this.#requeue(agent);
    return record;
  }

  // Puts a registered agent into its pool's index and books its allocations' ports at its current address.
  #attach(agent: AgentState): void {
    const { namespace, pool: name, address } = agent.info;
    const key = poolKey(namespace, name);
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = {
        ref: { namespace, pool: name },
        agents: new Set(),
        open: new IndexedHeap(byLoadThenId),
        byImage: new Map(),
        byPrewarm: new Map(),
      };
      this.#pools.set(key, pool);
    }
    pool.agents.add(agent);
    agent.pool = pool;
    for (const allocationKey of agent.keys) {
      const record = this.#allocations.get(allocationKey);
      if (record === undefined || record.bookedAt === address) continue;
      if (record.bookedAt !== undefined) this.#ports.free(record.bookedAt, record.ports);
      this.#ports.reserve(address, record.ports);
      record.bookedAt = address;
    }
    this.#requeue(agent);
  }

  // Takes an agent out of its pool's index (its ports stay booked until it re-attaches or is removed).
  #detach(agent: AgentState): void {
    const pool = agent.pool;
    if (pool === undefined) return;
    this.#unqueue(agent, pool);
    pool.agents.delete(agent);
    agent.pool = undefined;
    if (pool.agents.size === 0) this.#pools.delete(poolKey(pool.ref.namespace, pool.ref.pool));
  }

  // Brings the agent's heap membership and position up to date after any change to its load, health or capacity.
  #requeue(agent: AgentState): void {
    const pool = agent.pool;
    if (pool === undefined) return;
    const schedulable =
      agent.registered &&
      agent.info.healthy &&
      agent.info.draining !== true &&
      agent.keys.size < agent.info.capacity;
    if (!schedulable) {
      this.#unqueue(agent, pool);
      return;
    }
    if (agent.queued) {
      pool.open.update(agent);
      for (const image of agent.images) pool.byImage.get(image)?.update(agent);
      for (const key of agent.prewarm.keys()) pool.byPrewarm.get(key)?.update(agent);
      return;
    }
    pool.open.insert(agent);
    for (const image of agent.images) heapFor(pool.byImage, image).insert(agent);
    for (const key of agent.prewarm.keys()) heapFor(pool.byPrewarm, key).insert(agent);
    agent.queued = true;
  }

  // One prewarmed container of `key` is being taken on `agent`: it counts one fewer until the agent reports again.
  #takePrewarm(agent: AgentState, key: string): void {
    const ready = agent.prewarm.get(key);
    if (ready === undefined) return;
    if (ready > 1) {
      agent.prewarm.set(key, ready - 1);
    } else {
      agent.prewarm.delete(key);
      const pool = agent.pool;
      const heap = pool?.byPrewarm.get(key);
      if (agent.queued && heap !== undefined) {
        heap.remove(agent);
        if (heap.size === 0) pool?.byPrewarm.delete(key);
      }
    }
    agent.info.prewarm = Object.fromEntries(agent.prewarm);
  }

  #unqueue(agent: AgentState, pool: PoolIndex): void {
    if (!agent.queued) return;
    pool.open.remove(agent);
    for (const image of agent.images) {
      const heap = pool.byImage.get(image);
      if (heap === undefined) continue;
      heap.remove(agent);
      if (heap.size === 0) pool.byImage.delete(image);
    }
    for (const key of agent.prewarm.keys()) {
      const heap = pool.byPrewarm.get(key);
      if (heap === undefined) continue;
      heap.remove(agent);
      if (heap.size === 0) pool.byPrewarm.delete(key);
    }
    agent.queued = false;
  }

  // Why nothing fits: an O(n) pass, paid only on failure.
  #tally(
    key: string,
    namespace: string,
    poolName: string,
    ports: readonly number[],
    avoid: ReadonlySet<string> | undefined,
    image: string | undefined,
  ): NoFitTally {
    const tally: NoFitTally = {
      key,
      namespace,
      pool: poolName,
      total: 0,
      avoided: 0,
      unhealthy: 0,
      draining: 0,
      full: 0,
      fullSlotsUsed: 0,
      fullSlotsTotal: 0,
      portBlocked: 0,
      portHits: new Map(ports.map((port) => [port, 0])),
      poolElsewhere: [],
    };
    const pool = this.#pools.get(poolKey(namespace, poolName));
    if (pool === undefined) {
      tally.poolElsewhere = [...this.#pools.values()]
        .filter((p) => p.ref.pool === poolName)
        .map((p) => p.ref.namespace)
        .sort();
      return tally;
    }
    const hits = tally.portHits as Map<number, number>;
    for (const agent of pool.agents) {
      // With the image required, agents without it are not candidates at all.
      if (image !== undefined && !agent.images.has(image)) continue;
      tally.total++;
      if (avoid?.has(agent.info.id)) tally.avoided++;
      else if (!agent.info.healthy) tally.unhealthy++;
      else if (agent.info.draining) tally.draining++;
      else if (agent.keys.size >= agent.info.capacity) {
        tally.full++;
        tally.fullSlotsUsed += agent.keys.size;
        tally.fullSlotsTotal += agent.info.capacity;
      } else {
        const taken = this.#ports.taken(agent.info.address, ports);
        if (taken.length === 0) continue;
        tally.portBlocked++;
        for (const port of taken) hits.set(port, (hits.get(port) ?? 0) + 1);
      }
    }
    return tally;
  }

  #remember(key: string): void {
    const now = this.#now();
    this.#released.delete(key);
    this.#released.set(key, now);
    // Insertion order is release order: drop from the front until the rest is recent.
    for (const [old, at] of this.#released) {
      if (now - at <= RELEASE_MEMORY_MS) break;
      this.#released.delete(old);
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

  #snapshot(agent: AgentState): AgentSnapshot {
    return {
      ...agent.info,
      images: [...agent.info.images],
      allocated: agent.keys.size,
      placeholder: !agent.registered,
    };
  }
}

/** What decides whether an agent can take a sandbox; a change in it may be room for a waiting create. */
function roomOf(agent: AgentState): string {
  const { info } = agent;
  return [agent.queued, info.capacity, info.address, [...agent.images].sort().join(",")].join("|");
}

function heapFor(heaps: Map<string, IndexedHeap<AgentState>>, key: string): IndexedHeap<AgentState> {
  let heap = heaps.get(key);
  if (heap === undefined) {
    heap = new IndexedHeap(byLoadThenId);
    heaps.set(key, heap);
  }
  return heap;
}

// What a not-yet-registered agent looks like: no address, pool or capacity, so it is never chosen.
function placeholderInfo(id: string): AgentInfo {
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

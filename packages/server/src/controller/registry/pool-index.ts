/**
 * Placement: the registry's agents grouped by namespace/pool, the schedulable ones kept in heaps by
 * load (overall, per cached image and per ready prewarm key), and the choice of the best that fits.
 */
import { type AgentState, isSchedulable } from "./agent-state.ts";
import { IndexedHeap } from "./indexed-heap.ts";

/** Names one pool: pools are namespaced. */
export interface PoolRef {
  namespace: string;
  pool: string;
}

// The agents of one namespace/pool: all of them, and the schedulable ones ordered by load, overall and per cached image.
export interface PoolIndex {
  ref: PoolRef;
  agents: Set<AgentState>;
  open: IndexedHeap<AgentState>;
  byImage: Map<string, IndexedHeap<AgentState>>;
  /** Schedulable agents holding a ready prewarmed container, by prewarm key. */
  byPrewarm: Map<string, IndexedHeap<AgentState>>;
}

/** What a placement looks for, beyond the filter every candidate must pass. */
export interface PlacementWish {
  /** Chosen whenever it is schedulable in this pool and fits, whatever its load. */
  preferred: AgentState | undefined;
  prewarmKey: string | undefined;
  /** Normalised image reference. */
  image: string;
  /** Only agents with the image cached qualify. */
  requireImage: boolean;
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

export function poolKey(namespace: string, pool: string): string {
  return `${namespace}/${pool}`;
}

/** Every pool's index; an agent is in at most one, and a pool without agents is dropped. */
export class PoolIndexes {
  readonly #pools = new Map<string, PoolIndex>();

  get(namespace: string, pool: string): PoolIndex | undefined {
    return this.#pools.get(poolKey(namespace, pool));
  }

  all(): IterableIterator<PoolIndex> {
    return this.#pools.values();
  }

  /** Puts a registered agent into the index of the pool its info names, creating that pool's index. */
  join(agent: AgentState): void {
    const { namespace, pool: name } = agent.info;
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
    this.requeue(agent);
  }

  /** Takes an agent out of its pool's index. */
  leave(agent: AgentState): void {
    const pool = agent.pool;
    if (pool === undefined) return;
    unqueue(agent, pool);
    pool.agents.delete(agent);
    agent.pool = undefined;
    if (pool.agents.size === 0) this.#pools.delete(poolKey(pool.ref.namespace, pool.ref.pool));
  }

  /** Brings the agent's heap membership and position up to date after any change to its load, health or capacity. */
  requeue(agent: AgentState): void {
    const pool = agent.pool;
    if (pool === undefined) return;
    if (!isSchedulable(agent)) {
      unqueue(agent, pool);
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

  /** One prewarmed container of `key` is being taken on `agent`: it counts one fewer until the agent reports again. */
  takePrewarm(agent: AgentState, key: string): void {
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
}

/**
 * The best agent of `pool` that `fits`: the preferred one, then one holding a ready prewarmed
 * container, then one with the image cached, then (unless the image is required) the least loaded.
 */
export function choose(
  pool: PoolIndex,
  wish: PlacementWish,
  fits: (agent: AgentState) => boolean,
): AgentState | undefined {
  const { preferred, prewarmKey } = wish;
  if (preferred !== undefined && preferred.pool === pool && preferred.queued && fits(preferred))
    return preferred;
  const warm = prewarmKey === undefined ? undefined : pool.byPrewarm.get(prewarmKey)?.find(fits);
  if (warm !== undefined) return warm;
  return pool.byImage.get(wish.image)?.find(fits) ?? (wish.requireImage ? undefined : pool.open.find(fits));
}

function unqueue(agent: AgentState, pool: PoolIndex): void {
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

function heapFor(heaps: Map<string, IndexedHeap<AgentState>>, key: string): IndexedHeap<AgentState> {
  let heap = heaps.get(key);
  if (heap === undefined) {
    heap = new IndexedHeap(byLoadThenId);
    heaps.set(key, heap);
  }
  return heap;
}

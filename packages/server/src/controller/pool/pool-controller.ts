/** The SandboxPool reconciler: observes a pool, plans with planPool, then launches, drains, removes and writes status. */
import {
  DEFAULT_POOL,
  envListToMap,
  FsbError,
  objectKey,
  PoolDefaults,
  prewarmKey,
  type Sandbox,
  SandboxPhase,
  type SandboxPool,
  type SandboxPoolSpec,
  type SandboxPoolStatus,
  splitObjectKey,
  validatePoolSpec,
} from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { ChangeSignal } from "../../core/change-signal.ts";
import { type EventRecorder, NO_EVENTS } from "../../core/event-recorder.ts";
import type { Informer } from "../../kube/informer.ts";
import type { HandlerResult } from "../../kube/work-queue.ts";
import type { ObjectStore } from "../../store/object-store.ts";
import type { AgentPrewarmTemplate } from "../agent-api.ts";
import type { AgentMonitor } from "../agent-monitor.ts";
import { recordEvent } from "../event-reasons.ts";
import type { AgentRegistry } from "../registry/agent-registry.ts";
import type { AgentLauncher, PoolRef } from "./agent-launcher.ts";
import { invalidSpecEvent, poolEvents } from "./pool-events.ts";
import { type PoolGrowth, type PoolRoom, poolGrowth } from "./pool-growth.ts";
import { invalidSpecStatus, type ObservedAgent, type PoolObservation, planPool } from "./pool-plan.ts";

/** Pools are re-planned this often even without events: load and agent health change all the time. */
export const POOL_RESYNC_MS = 1000;
/**
 * A create that found no slot counts as demand while it waits for one, and for this long after it
 * gave up, so a client retrying counts too and load scales the pool.
 */
const DEMAND_WINDOW_MS = 10_000;
/** The same prewarm set is not pushed to an agent more often than this while it reports otherwise. */
const PREWARM_PUSH_INTERVAL_MS = 5000;

export interface PoolControllerOptions {
  store: ObjectStore;
  pools: Informer<SandboxPoolSpec, SandboxPoolStatus>;
  sandboxes: Informer<Sandbox["spec"], Sandbox["status"]>;
  registry: AgentRegistry;
  monitor: AgentMonitor;
  /** Absent when agents only register themselves: the pools then get their status, and nothing is launched. */
  launcher: AgentLauncher | undefined;
  logger: Logger;
  /** Notified when a pool's launches change (one started, came up, or was given up): waiting creates look again. */
  changes?: ChangeSignal;
  /** Until when (epoch ms) agents of the pool not heard from since the start may come back; 0: none may. */
  agentsReturnUntil?: (namespace: string, pool: string) => number;
  now?: () => number;
  /** Where the pool's Kubernetes Events go (pool-events.ts). */
  events?: EventRecorder;
}

/** A create that found no room: since when, and whether it is still waiting for room. */
interface Demand {
  at: number;
  waiting: boolean;
}

/**
 * Level-based: every pass re-reads the pool, its agents (launcher and registry) and the demand,
 * and converges one step. The launcher remembers launches in flight, so a pass that runs before
 * a new agent answers never launches a second one for the same need.
 */
export class PoolController implements PoolRoom {
  readonly #o: PoolControllerOptions;
  readonly #now: () => number;
  readonly #events: EventRecorder;
  /** Per pool, by sandbox name: creates that found no slot (a retrying client counts once). */
  readonly #demand = new Map<string, Map<string, Demand>>();
  /** Per pool: the launches last seen in flight, to notify waiting creates when they change. */
  readonly #launchDigest = new Map<string, string>();
  /** Per agent: the prewarm set last pushed and when, so a slow refill is not pushed again and again. */
  readonly #pushed = new Map<string, { digest: string; at: number }>();

  constructor(options: PoolControllerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#events = options.events ?? NO_EVENTS;
  }

  needRoom(namespace: string, pool: string, sandbox: string): PoolGrowth {
    const key = objectKey(namespace, pool);
    const demand = this.#demand.get(key) ?? new Map<string, Demand>();
    demand.set(sandbox, { at: this.#now(), waiting: true });
    this.#demand.set(key, demand);
    return this.growth(namespace, pool);
  }

  settle(namespace: string, pool: string, sandbox: string, placed: boolean): void {
    const demand = this.#demand.get(objectKey(namespace, pool));
    const entry = demand?.get(sandbox);
    if (!demand || !entry) return;
    if (placed) demand.delete(sandbox);
    else demand.set(sandbox, { at: this.#now(), waiting: false });
  }

  /**
   * Whether new agents of the pool may have an image its present ones lack: Pods may land on other
   * nodes; local agents share one node's containerd, so they have what the pool's answering agents
   * have. A pool with no answering agent yet (just applied, still launching) has nothing to judge
   * by, so its create waits for the first ones like any other.
   */
  growthMayBringImages(namespace: string, pool: string): boolean {
    // An agent on its way back after a controller start brings whatever images its node has.
    if (this.#now() < (this.#o.agentsReturnUntil?.(namespace, pool) ?? 0)) return true;
    if (this.#o.launcher === undefined) return false;
    if (!this.#o.launcher.oneNode) return true;
    return !this.#o.registry
      .agents()
      .some((a) => !a.placeholder && a.healthy && a.pool === pool && a.namespace === namespace);
  }

  /**
   * Whether the pool is really getting room: agents launched and not answering yet, or a launch
   * (or undrain) that the next pass makes for the demand seen now. Below poolMax alone is not enough.
   */
  growth(namespace: string, name: string): PoolGrowth {
    const now = this.#now();
    const returnUntil = this.#o.agentsReturnUntil?.(namespace, name) ?? 0;
    const pool = this.#o.pools.get(namespace, name);
    // A pool of self-registered agents only has no object; its agents may be on their way back.
    if (!pool) return now < returnUntil ? { kind: "returning", until: returnUntil } : { kind: "absent" };
    let spec: SandboxPoolSpec;
    try {
      spec = validatePoolSpec(pool.spec);
    } catch {
      return { kind: "absent" };
    }
    const observation = this.#observe({ namespace, name }, pool, spec, now);
    return poolGrowth({
      managed: this.#o.launcher !== undefined,
      deleting: observation.deleting,
      poolMax: spec.capacity.poolMax,
      agents: observation.agents,
      plan: planPool(observation),
      agentsReturnUntil: returnUntil,
      now,
    });
  }

  async reconcile(key: string): Promise<HandlerResult> {
    const { namespace, name } = splitObjectKey(key);
    const ref: PoolRef = { namespace, name };
    const pool = this.#o.pools.get(namespace, name);
    if (!pool) {
      // Deleted from the store: whatever it still runs drains and goes, as for a pool being deleted.
      if ((this.#o.launcher?.agents(ref) ?? []).length === 0) return {};
      await this.#converge(ref, undefined, validatePoolSpec({}));
      return { requeueAfterMs: POOL_RESYNC_MS };
    }

    let spec: SandboxPoolSpec;
    try {
      spec = validatePoolSpec(pool.spec);
    } catch (err) {
      // Written with a spec no schema refused (a server without CEL, the embedded store): nothing
      // scales; the reason goes to the status, where kubectl shows it, once per change.
      const current = pool.status ?? {};
      const message = err instanceof Error ? err.message : String(err);
      const status = invalidSpecStatus(current, pool.metadata.generation, message, this.#now());
      if (status !== current) {
        this.#o.logger.warn({ pool: key, err }, "pool spec is invalid; not scaling it");
        await this.#writeStatus(pool, status);
      }
      // Every pass: the recorder folds the repeats into one Event's series.
      recordEvent(this.#events, pool, invalidSpecEvent(err));
      return { requeueAfterMs: 10 * POOL_RESYNC_MS };
    }
    await this.#converge(ref, pool, spec);
    return { requeueAfterMs: POOL_RESYNC_MS };
  }

  /** One step towards the plan for the pool; without the pool object, every agent drains and goes. */
  async #converge(ref: PoolRef, pool: SandboxPool | undefined, spec: SandboxPoolSpec): Promise<void> {
    const observation = this.#observe(ref, pool, spec, this.#now());
    const plan = planPool(observation);

    for (const id of plan.undrain) this.#o.registry.setDraining(id, false);
    for (const id of plan.drain) this.#o.registry.setDraining(id, true);
    if (plan.launch > 0 || plan.drain.length > 0 || plan.remove.length > 0) {
      this.#o.logger.info(
        {
          pool: objectKey(ref.namespace, ref.name),
          desired: plan.desired,
          launch: plan.launch,
          drain: plan.drain,
          remove: plan.remove,
        },
        "scaling pool",
      );
    }
    const launcher = this.#o.launcher;
    const launches = launcher && pool ? Array.from({ length: plan.launch }, () => launcher.launch(pool)) : [];
    // A drained agent first gives up its prewarmed containers (pushed below), then goes.
    const removed = plan.remove.filter((id) => this.#prewarmClear(id));
    const removals = removed.map((id) => this.#remove(ref, id));
    if (pool) {
      for (const e of poolEvents({ agents: observation.agents, plan, removed }))
        recordEvent(this.#events, pool, e);
    }
    await Promise.all([...launches, ...removals]);
    this.#pushPrewarm(ref, agentTemplates(spec));

    if (pool && plan.status !== pool.status) await this.#writeStatus(pool, plan.status);
    this.#noteLaunches(ref);
  }

  /** What a pass plans from: the pool, its agents, and its demand. */
  #observe(ref: PoolRef, pool: SandboxPool | undefined, spec: SandboxPoolSpec, now: number): PoolObservation {
    // Without a launcher there is nothing to scale: the plan is only the status of what registered.
    const managed = this.#o.launcher !== undefined;
    return {
      spec: managed ? spec : { ...spec, capacity: { ...spec.capacity, poolMin: 0, bufferMin: 0 } },
      generation: pool?.metadata.generation ?? 0,
      status: pool?.status ?? {},
      agents: this.#observeAgents(ref, spec),
      pending: managed ? this.#pending(ref, now) : 0,
      deleting: pool === undefined || pool.metadata.deletionTimestamp !== undefined,
      now,
    };
  }

  /** Creates waiting for room learn of launches that start, come up or are given up. */
  #noteLaunches(ref: PoolRef): void {
    const key = objectKey(ref.namespace, ref.name);
    const digest = (this.#o.launcher?.agents(ref) ?? [])
      .map((a) => `${a.agentId}:${a.state}`)
      .sort()
      .join(",");
    if (this.#launchDigest.get(key) === digest) return;
    this.#launchDigest.set(key, digest);
    this.#o.changes?.notify();
  }

  /** Agents of the pool as the launcher and the registry see them together. */
  #observeAgents(ref: PoolRef, spec: SandboxPoolSpec): ObservedAgent[] {
    const byId = new Map<string, ObservedAgent>();
    for (const launched of this.#o.launcher?.agents(ref) ?? []) {
      byId.set(launched.agentId, {
        id: launched.agentId,
        launch: launched.state,
        launchedAt: launched.launchedAt,
        healthy: false,
        draining: false,
        capacity: spec.maxSandboxesPerPod ?? PoolDefaults.maxSandboxesPerPod,
        allocated: 0,
      });
    }
    for (const a of this.#o.registry.agents()) {
      if (a.placeholder || a.pool !== ref.name || a.namespace !== ref.namespace) continue;
      const launched = byId.get(a.id);
      byId.set(a.id, {
        id: a.id,
        launch: launched?.launch,
        launchedAt: launched?.launchedAt,
        healthy: a.healthy,
        lost: !a.healthy && a.lastHeartbeat > 0,
        draining: a.draining === true,
        capacity: a.capacity,
        allocated: a.allocated,
      });
    }
    return [...byId.values()];
  }

  /** Sandboxes of the pool waiting for a slot, plus creates waiting for room or recently refused, each once. */
  #pending(ref: PoolRef, now: number): number {
    const waiting = new Set<string>();
    for (const s of this.#o.sandboxes.list()) {
      if (s.metadata.namespace !== ref.namespace || (s.spec.poolRef || DEFAULT_POOL) !== ref.name) continue;
      const phase = s.status?.phase;
      if ((phase === undefined || phase === SandboxPhase.Pending) && !s.status?.assignedAgent) {
        waiting.add(s.metadata.name);
      }
    }
    const key = objectKey(ref.namespace, ref.name);
    const refused = this.#demand.get(key);
    for (const [sandbox, d] of refused ?? []) {
      if (!d.waiting && now - d.at >= DEMAND_WINDOW_MS) refused?.delete(sandbox);
      else waiting.add(sandbox);
    }
    if (refused?.size === 0) this.#demand.delete(key);
    return waiting.size;
  }

  async #remove(ref: PoolRef, agentId: string): Promise<void> {
    this.#o.monitor.remove(agentId);
    this.#pushed.delete(agentId);
    await this.#o.launcher?.remove(ref, agentId);
  }

  /** Whether the agent holds no prewarmed containers any more (or never reported any). */
  #prewarmClear(agentId: string): boolean {
    const templates = this.#o.monitor.status(agentId)?.status.prewarm?.templates ?? [];
    return templates.every((t) => t.ready === 0);
  }

  /**
   * Every serving agent should hold the pool's prewarm set; a draining one none, so its containers
   * are gone by the time it is removed. Pushes run in the background and never hold up a pass.
   */
  #pushPrewarm(ref: PoolRef, wanted: AgentPrewarmTemplate[]): void {
    const now = this.#now();
    for (const a of this.#o.registry.agents()) {
      if (a.placeholder || !a.healthy || a.pool !== ref.name || a.namespace !== ref.namespace) continue;
      const templates = a.draining ? [] : wanted;
      const reported = this.#o.monitor.status(a.id)?.status.prewarm;
      // Agents that predate prewarming report nothing: they are left alone unless prewarm is wanted.
      if (reported === undefined && templates.length === 0) continue;
      const want = digest(templates.map((t) => ({ key: prewarmKey(t), count: t.count })));
      const have = digest(
        (reported?.templates ?? []).filter((t) => t.count > 0).map((t) => ({ key: t.key, count: t.count })),
      );
      const last = this.#pushed.get(a.id);
      if (want === have) {
        this.#pushed.delete(a.id);
        continue;
      }
      if (last && last.digest === want && now - last.at < PREWARM_PUSH_INTERVAL_MS) continue;
      const client = this.#o.monitor.client(a.id);
      if (!client) continue;
      this.#pushed.set(a.id, { digest: want, at: now });
      client.setPrewarm(templates).then(
        () => void this.#o.monitor.probe(a.id),
        (err: unknown) =>
          this.#o.logger.warn(
            { agentId: a.id, pool: objectKey(ref.namespace, ref.name), err },
            "prewarm push failed",
          ),
      );
    }
  }

  async #writeStatus(pool: SandboxPool, status: SandboxPoolStatus): Promise<void> {
    try {
      await this.#o.store.updateStatus({ ...pool, status });
    } catch (err) {
      // A conflict means a newer pool is on its way through the informer; the next pass writes.
      if (err instanceof FsbError && (err.code === "ABORTED" || err.code === "NOT_FOUND")) return;
      throw err;
    }
  }
}

/** The pool's prewarm templates in the agent API's shape. */
function agentTemplates(spec: SandboxPoolSpec): AgentPrewarmTemplate[] {
  return (spec.prewarm ?? []).map((t) => ({
    image: t.image,
    ...(t.command?.length ? { command: t.command } : {}),
    ...(t.args?.length ? { args: t.args } : {}),
    ...(t.env?.length ? { env: envListToMap(t.env) } : {}),
    count: t.count,
  }));
}

function digest(list: Array<{ key: string; count: number }>): string {
  return list
    .filter((t) => t.count > 0)
    .map((t) => `${t.key}=${t.count}`)
    .sort()
    .join(",");
}

/** A controller's world for unit tests: a temporary SQLite store, a registry, a monitor of in-memory agents, a manual clock. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  API_VERSION,
  objectKey,
  POOL_KIND,
  SANDBOX_KIND,
  type Sandbox,
  SandboxPhase,
  type SandboxPool,
  type SandboxPoolSpec,
  type SandboxSpec,
  validatePoolSpec,
} from "@fast-sandbox/api";
import { type Logger, pino } from "pino";
import { ChangeSignal } from "../core/change-signal.ts";
import type { EventRecorder } from "../core/event-recorder.ts";
import { ManualClock } from "../core/manual-clock.ts";
import { SqliteStore } from "../store/sqlite-store.ts";
import { AgentMonitor } from "./agent-monitor.ts";
import { ControllerMetrics } from "./controller-metrics.ts";
import type { ProbeVerdict } from "./liveness/agent-liveness.ts";
import { MIN_FAILED_PROBES } from "./liveness/agent-liveness.ts";
import { MemoryAgent, type MemoryAgentOptions } from "./memory-agent.ts";
import { PoolCatalog } from "./pool-catalog.ts";
import { AgentRegistry } from "./registry/agent-registry.ts";
import { SandboxReconciler } from "./sandbox/reconciler.ts";
import { StatusWaiters } from "./sandbox/status-waiters.ts";

/** An event as a test reads it: `Type Reason: note` about `kind/name`. */
export interface SeenEvent {
  object: string;
  type: "Normal" | "Warning";
  reason: string;
  action: string;
  note: string;
}

/** Keeps every event recorded, in order. */
export class EventLog implements EventRecorder {
  readonly seen: SeenEvent[] = [];
  normal(o: Parameters<EventRecorder["normal"]>[0], reason: string, action: string, note: string): void {
    this.seen.push({ object: `${o.kind}/${o.metadata.name}`, type: "Normal", reason, action, note });
  }
  warning(o: Parameters<EventRecorder["warning"]>[0], reason: string, action: string, note: string): void {
    this.seen.push({ object: `${o.kind}/${o.metadata.name}`, type: "Warning", reason, action, note });
  }
  /** The reasons recorded so far, in order. */
  reasons(): string[] {
    return this.seen.map((e) => e.reason);
  }
}

/** The loss timeout of the world's monitor. */
export const LOSS_TIMEOUT_MS = 15_000;
/** The probe interval of the world's monitor. */
const PROBE_INTERVAL_MS = 2000;

/**
 * Everything below the API that a reconciler, fast path or pool controller needs, real except the
 * agents (in memory) and the clock (moved by the test). `close()` removes the store's directory.
 */
export class TestWorld {
  readonly clock = new ManualClock(Date.parse("2026-11-22T12:00:00Z"));
  readonly logger: Logger = pino({ level: "silent" });
  readonly registry = new AgentRegistry({ now: () => this.clock.now() });
  readonly agents = new Map<string, MemoryAgent>();
  /** Liveness probe verdicts by agent id (default: answered). */
  readonly verdicts = new Map<string, ProbeVerdict>();
  readonly waiters = new StatusWaiters();
  readonly changes = new ChangeSignal();
  readonly metrics = new ControllerMetrics(this.registry);
  /** Kubernetes Events the world's reconcilers recorded. */
  readonly events = new EventLog();
  /** Agent ids the monitor reported changed, in order (`:lost` when lost). */
  readonly agentChanges: string[] = [];
  readonly monitor: AgentMonitor;
  readonly store: SqliteStore;
  /** Pools as creates see them: objects in the store, and the pools agents registered in. */
  readonly poolCatalog: PoolCatalog;
  readonly #dir: string;

  private constructor(dir: string) {
    this.#dir = dir;
    this.store = new SqliteStore({ dir, now: () => new Date(this.clock.now()) });
    this.poolCatalog = new PoolCatalog({ store: this.store, registry: this.registry });
    this.monitor = new AgentMonitor({
      registry: this.registry,
      logger: this.logger,
      defaultAgentToken: undefined,
      probeIntervalMs: PROBE_INTERVAL_MS,
      lossTimeoutMs: LOSS_TIMEOUT_MS,
      onAgentChanged: (id, status) => this.agentChanges.push(status ? id : `${id}:lost`),
      clock: this.clock,
      probeLiveness: async (url) => {
        const verdict = this.verdicts.get(this.#agentAt(url)) ?? "answered";
        return { verdict, detail: verdict };
      },
      newClient: (url) => {
        const agent = this.agents.get(this.#agentAt(url));
        if (!agent) throw new Error(`no in-memory agent at ${url}`);
        return agent;
      },
    });
  }

  static async open(): Promise<TestWorld> {
    return new TestWorld(await mkdtemp(path.join(tmpdir(), "fsb-world-")));
  }

  /** Registers an in-memory agent and takes its first status, so it is healthy and placeable. */
  async addAgent(
    agentId: string,
    options: Partial<Omit<MemoryAgentOptions, "agentId" | "now">> & { namespace?: string } = {},
  ): Promise<MemoryAgent> {
    const address = options.address ?? `10.0.0.${this.agents.size + 1}`;
    const agent = new MemoryAgent({ ...options, agentId, address, now: () => this.clock.now() });
    this.agents.set(agentId, agent);
    this.monitor.register({
      agentId,
      url: `http://${agentId}.agents:5758`,
      address,
      nodeName: `node-${agentId}`,
      pool: options.pool ?? "default-pool",
      namespace: options.namespace ?? "default",
      capacity: options.capacity ?? 4,
      runtime: "container",
    });
    await this.monitor.probe(agentId);
    // A status counts for a sandbox only if taken at or after its start (AgentMonitor.sandboxOnAgent):
    // the clock moves on, so this first status cannot speak for sandboxes started from now on.
    await this.clock.advance(1);
    return agent;
  }

  /** The agent stops answering for the loss timeout: the monitor declares it lost. */
  async loseAgent(agentId: string): Promise<void> {
    this.verdicts.set(agentId, "failed");
    const step = Math.ceil(LOSS_TIMEOUT_MS / MIN_FAILED_PROBES);
    for (let i = 0; i <= MIN_FAILED_PROBES; i++) {
      await this.clock.advance(step);
      await this.monitor.checkLiveness(agentId);
    }
  }

  /** A reconciler on this world; status writes wake the world's waiters. */
  reconciler(unknownAgentGraceUntil?: () => number): SandboxReconciler {
    return new SandboxReconciler({
      ...(unknownAgentGraceUntil ? { unknownAgentGraceUntil } : {}),
      store: this.store,
      registry: this.registry,
      monitor: this.monitor,
      poolCatalog: this.poolCatalog,
      logger: this.logger,
      now: () => this.clock.now(),
      onStatus: (s, failure) => this.waiters.notify(s, failure),
      events: this.events,
    });
  }

  /** Stores a Sandbox as the API's strong create would, without waiting for it. */
  async createSandbox(name: string, spec: Partial<SandboxSpec> = {}, namespace = "default"): Promise<string> {
    await this.store.create<SandboxSpec, Sandbox["status"]>({
      apiVersion: API_VERSION,
      kind: SANDBOX_KIND,
      metadata: { name, namespace },
      spec: { image: "busybox:latest", ...spec },
      status: { phase: SandboxPhase.Pending },
    });
    return objectKey(namespace, name);
  }

  /** Stores a SandboxPool object (with the default spec unless given), as `fsb-ctl apply` would. */
  async applyPool(name: string, spec: Partial<SandboxPoolSpec> = {}, namespace = "default"): Promise<void> {
    await this.store.create<SandboxPoolSpec, SandboxPool["status"]>({
      apiVersion: API_VERSION,
      kind: POOL_KIND,
      metadata: { name, namespace },
      spec: validatePoolSpec(spec),
      status: {},
    });
  }

  /** The stored Sandbox of `key`, or undefined once it is gone. */
  async sandbox(key: string): Promise<Sandbox | undefined> {
    const [namespace = "", name = ""] = key.split("/");
    return this.store
      .get<SandboxSpec, Sandbox["status"]>(SANDBOX_KIND, namespace, name)
      .catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.store.close();
    await rm(this.#dir, { recursive: true, force: true });
  }

  #agentAt(url: string): string {
    return new URL(url).hostname.replace(/\.agents$/, "");
  }
}

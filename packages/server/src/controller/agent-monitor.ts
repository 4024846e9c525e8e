/** Knows every agent: registers them, probes their status, and tells the registry who is alive. */
import type { Logger } from "pino";
import type { AgentRegistration } from "../agent/controller-registration.ts";
import { sleep, systemClock } from "../kube/clock.ts";
import { AgentClient, type AgentSandboxView, type AgentStatusView } from "./agent-client.ts";
import type { AgentRegistry } from "./registry/agent-registry.ts";
import type { OnAgent } from "./sandbox-plan.ts";

/** Options of {@link AgentMonitor}. */
export interface AgentMonitorOptions {
  registry: AgentRegistry;
  logger: Logger;
  /** Token for agents that registered without one (standalone agents share the controller's agent token). */
  defaultAgentToken: string | undefined;
  probeIntervalMs: number;
  /** An agent that has not answered for this long is unhealthy, and its sandboxes are Lost. */
  lossTimeoutMs: number;
  /** Called when something about an agent changed that sandboxes on it may care about. */
  onAgentChanged: (agentId: string, status: AgentStatusView | undefined) => void;
  /** Called with every successful status answer, changed or not (for periodic sweeps). */
  onStatus?: (agentId: string, status: AgentStatusView) => void;
  now?: () => number;
}

interface KnownAgent {
  registration: AgentRegistration;
  client: AgentClient;
  /** The latest successful status and when it was taken. */
  status?: AgentStatusView;
  statusAt?: number;
  lastSuccess: number;
  /** A digest of the sandboxes' phases, to notice changes. */
  digest?: string;
  probing?: Promise<void>;
}

/**
 * Probing is the controller's only way to learn about exits and losses, so it runs on a fixed
 * interval and every answer updates the registry (images, capacity, health) in one place.
 */
export class AgentMonitor {
  readonly #o: AgentMonitorOptions;
  readonly #agents = new Map<string, KnownAgent>();
  readonly #now: () => number;

  constructor(options: AgentMonitorOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Adds or refreshes an agent (registration or heartbeat). Returns true if it is new. */
  register(registration: AgentRegistration): boolean {
    const existing = this.#agents.get(registration.agentId);
    const token = registration.token ?? this.#o.defaultAgentToken;
    if (
      existing &&
      existing.registration.url === registration.url &&
      existing.registration.token === registration.token
    ) {
      existing.registration = registration;
      return false;
    }
    this.#agents.set(registration.agentId, {
      registration,
      client: new AgentClient(registration.url, token),
      lastSuccess: existing?.lastSuccess ?? this.#now(),
    });
    this.#o.registry.upsertAgent({
      id: registration.agentId,
      address: registration.address,
      url: registration.url,
      nodeName: registration.nodeName,
      pool: registration.pool,
      namespace: registration.namespace,
      capacity: registration.capacity,
      images: existing?.status?.images ?? [],
      // Not placeable until its first status answer proves it is up.
      healthy: existing?.status !== undefined,
      lastHeartbeat: existing?.lastSuccess ?? 0,
      runtime: registration.runtime,
    });
    if (!existing)
      this.#o.logger.info({ agentId: registration.agentId, url: registration.url }, "agent registered");
    return !existing;
  }

  /** Forgets an agent (it was stopped on purpose); its sandboxes become Lost. */
  forget(agentId: string): void {
    this.#agents.delete(agentId);
    this.#o.registry.markHealthy(agentId, false, this.#now());
    this.#o.onAgentChanged(agentId, undefined);
  }

  /**
   * Drops an agent that was stopped on purpose after it drained: it has no sandboxes, so nothing
   * becomes Lost, and it leaves the registry altogether.
   */
  remove(agentId: string): void {
    this.#agents.delete(agentId);
    this.#o.registry.removeAgent(agentId);
  }

  client(agentId: string): AgentClient | undefined {
    return this.#agents.get(agentId)?.client;
  }

  agentIds(): string[] {
    return [...this.#agents.keys()];
  }

  /** The latest status of an agent, if it ever answered. */
  status(agentId: string): { status: AgentStatusView; at: number } | undefined {
    const known = this.#agents.get(agentId);
    return known?.status && known.statusAt !== undefined
      ? { status: known.status, at: known.statusAt }
      : undefined;
  }

  /**
   * The sandbox as its agent reported it, from a status taken at or after `notBefore` (so a
   * report older than the create cannot say the sandbox is missing).
   */
  sandboxOnAgent(agentId: string, sandboxId: string, notBefore: number): OnAgent | undefined {
    const latest = this.status(agentId);
    if (!latest || latest.at < notBefore) return undefined;
    const found = latest.status.sandboxes.find((s) => s.sandboxId === sandboxId);
    return found ? { present: true, phase: found.phase, exitCode: found.exitCode } : { present: false };
  }

  /** Probes every agent once, concurrently; resolves when all have answered or failed. */
  async probeAll(): Promise<void> {
    await Promise.all([...this.#agents.keys()].map((id) => this.probe(id)));
  }

  /** Probes one agent (joins a probe already in flight). */
  probe(agentId: string): Promise<void> {
    const known = this.#agents.get(agentId);
    if (!known) return Promise.resolve();
    known.probing ??= this.#probe(agentId, known).finally(() => {
      known.probing = undefined;
    });
    return known.probing;
  }

  /** Probes on an interval until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.probeAll();
      await sleep(systemClock, this.#o.probeIntervalMs, signal);
    }
  }

  async #probe(agentId: string, known: KnownAgent): Promise<void> {
    const startedAt = this.#now();
    try {
      const status = await known.client.status();
      if (this.#agents.get(agentId) !== known) return;
      if (status.agentId !== agentId) {
        throw new Error(`answered as agent ${status.agentId}`);
      }
      const wasHealthy = known.status !== undefined && this.#o.registry.agent(agentId)?.healthy === true;
      known.status = status;
      known.statusAt = startedAt;
      known.lastSuccess = this.#now();
      this.#o.registry.upsertAgent({
        id: agentId,
        address: status.address || known.registration.address,
        url: known.registration.url,
        nodeName: status.nodeName,
        pool: status.pool,
        namespace: known.registration.namespace,
        capacity: status.capacity,
        images: status.images,
        healthy: true,
        lastHeartbeat: known.lastSuccess,
        runtime: status.runtime,
        prewarm: Object.fromEntries((status.prewarm?.templates ?? []).map((t) => [t.key, t.ready])),
      });
      this.#restoreSlots(agentId, status.sandboxes, startedAt);
      const digest = status.sandboxes.map((s) => `${s.sandboxId}:${s.phase}:${s.exitCode}`).join(",");
      if (!wasHealthy || digest !== known.digest) this.#o.onAgentChanged(agentId, status);
      known.digest = digest;
      this.#o.onStatus?.(agentId, status);
    } catch (err) {
      if (this.#agents.get(agentId) !== known) return;
      const silentFor = this.#now() - known.lastSuccess;
      if (silentFor >= this.#o.lossTimeoutMs && this.#o.registry.agent(agentId)?.healthy) {
        this.#o.logger.warn({ agentId, err, silentForMs: silentFor }, "agent lost");
        this.#o.registry.markHealthy(agentId, false, this.#now());
        this.#o.onAgentChanged(agentId, undefined);
      }
    }
  }

  /**
   * Every sandbox an agent runs holds a slot, whether the controller created it a moment ago,
   * before a restart, or never recorded it (a fast-mode create cut short). Recording them here is
   * what makes double allocation impossible after a restart.
   */
  #restoreSlots(agentId: string, sandboxes: AgentSandboxView[], probedAt: number): void {
    for (const s of sandboxes) {
      const held = this.#o.registry.allocationOf(s.sandboxId);
      if (held?.agentId === agentId) continue;
      // Deleted while this answer was on its way: the report is older than the release.
      if (!held && this.#o.registry.releasedSince(s.sandboxId, probedAt)) continue;
      this.#o.registry.restore(s.sandboxId, { agentId, ports: portsOf(s.endpoints) });
    }
  }
}

function portsOf(endpoints: string[]): number[] {
  return endpoints.map((e) => Number(e.slice(e.lastIndexOf(":") + 1))).filter((p) => p > 0);
}

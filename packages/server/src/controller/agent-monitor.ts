/** Knows every agent: registers them, probes their liveness and status, and tells the registry who is alive. */
import type { Logger } from "pino";
import type { AgentRegistration } from "../agent/controller-registration.ts";
import { type Clock, sleep, systemClock } from "../core/clock.ts";
import type { AgentApi, AgentSandboxView, AgentStatusView } from "./agent-api.ts";
import { AgentClient, agentBaseUrl } from "./agent-client.ts";
import {
  freshLiveness,
  isLost,
  type Liveness,
  livenessAfter,
  MIN_FAILED_PROBES,
  type ProbeVerdict,
} from "./liveness/agent-liveness.ts";
import { type LivenessProbe, livenessProbe } from "./liveness/liveness-probe.ts";
import { LoopStalls } from "./liveness/loop-stalls.ts";
import type { AgentRegistry } from "./registry/agent-registry.ts";
import type { OnAgent } from "./sandbox/plan.ts";

/**
 * The periodic status may take this long: a slow answer is still an answer, and liveness is judged
 * by the cheap probe, never by the status. (At start-up the first status is bounded shorter.)
 */
const STATUS_PATIENCE_MS = 30_000;
/** A liveness probe waits at most this long; with a short loss timeout, a third of it. */
const LIVENESS_TIMEOUT_MS = 5000;
/** ...but never less than this: an agent on a loaded node needs some time to answer anything. */
const MIN_LIVENESS_TIMEOUT_MS = 200;

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
  clock?: Clock;
  /** Replaces the real `/healthz` probe (tests). */
  probeLiveness?: LivenessProbe;
  /** Replaces the HTTP client of each agent (tests: an in-memory agent). */
  newClient?: (url: string, token: string | undefined) => AgentApi;
}

interface KnownAgent {
  registration: AgentRegistration;
  client: AgentApi;
  /** The agent's base URL, which the liveness probe asks. */
  url: string;
  /** The latest successful status. */
  status?: AgentStatusView;
  /**
   * When the request for it was sent, on the controller's clock: the clock that also stamps each
   * sandbox's `startedAt` (when its create was answered), so the two compare without clock skew.
   */
  statusAt?: number;
  /** When the latest status answer arrived (0 before the first). */
  lastStatus: number;
  /** A digest of the sandboxes' phases (or the agent's revision), to notice changes. */
  digest?: string;
  probing?: Promise<void>;
  liveness: Liveness;
  /** Declared lost by the loss rule and not heard from since. */
  lost: boolean;
  /** Aborted when the agent is declared lost (or leaves), so calls waiting on it stop at once. */
  alive: AbortController;
  checking?: Promise<void>;
}

/**
 * Two probes run on the interval, per agent and never more than one of each in flight. The status
 * (`GET /api/v1/agent/status`) is how the controller learns about exits, images and capacity; it
 * may be slow, and slowness costs nothing but freshness. Liveness (`GET /healthz`, see
 * liveness-probe.ts) alone decides whether an agent is lost, by the rule in {@link isLost}:
 * MIN_FAILED_PROBES failed probes in a row *and* silence for the whole loss timeout.
 */
export class AgentMonitor {
  readonly #o: AgentMonitorOptions;
  readonly #agents = new Map<string, KnownAgent>();
  readonly #clock: Clock;
  readonly #stalls: LoopStalls;
  readonly #probeLiveness: LivenessProbe;
  readonly #livenessTimeoutMs: number;
  /** When this monitor started knowing agents: an agent unknown since then is unknown for that long. */
  readonly #startedAt: number;
  /** When agents left on purpose (removed or forgotten), for how long they have been unknown. */
  readonly #leftAt = new Map<string, number>();

  constructor(options: AgentMonitorOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#stalls = new LoopStalls(this.#clock);
    this.#probeLiveness =
      options.probeLiveness ?? livenessProbe({ clock: this.#clock, stalls: this.#stalls });
    this.#livenessTimeoutMs = Math.max(
      MIN_LIVENESS_TIMEOUT_MS,
      Math.min(LIVENESS_TIMEOUT_MS, Math.floor(options.lossTimeoutMs / MIN_FAILED_PROBES)),
    );
    this.#startedAt = this.#clock.now();
  }

  #now(): number {
    return this.#clock.now();
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
    const now = this.#now();
    this.#agents.set(registration.agentId, {
      registration,
      client: this.#o.newClient?.(registration.url, token) ?? new AgentClient(registration.url, token),
      url: agentBaseUrl(registration.url),
      lastStatus: existing?.lastStatus ?? 0,
      // A registration is the agent (or its launcher, which just saw it answer) speaking.
      liveness: livenessAfter(existing?.liveness ?? freshLiveness(now), "answered", now),
      lost: false,
      alive: existing && !existing.lost ? existing.alive : new AbortController(),
    });
    this.#leftAt.delete(registration.agentId);
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
      healthy: existing?.status !== undefined && !existing.lost,
      lastHeartbeat: existing?.lastStatus ?? 0,
      runtime: registration.runtime,
    });
    if (!existing)
      this.#o.logger.info({ agentId: registration.agentId, url: registration.url }, "agent registered");
    return !existing;
  }

  /** Forgets an agent (it was stopped on purpose); its sandboxes become Lost. */
  forget(agentId: string): void {
    this.#agents.get(agentId)?.alive.abort();
    this.#agents.delete(agentId);
    this.#noteLeft(agentId);
    this.#o.registry.markHealthy(agentId, false, this.#now());
    this.#o.onAgentChanged(agentId, undefined);
  }

  /**
   * Drops an agent that was stopped on purpose after it drained: it has no sandboxes, so nothing
   * becomes Lost, and it leaves the registry altogether.
   */
  remove(agentId: string): void {
    this.#agents.get(agentId)?.alive.abort();
    this.#agents.delete(agentId);
    this.#noteLeft(agentId);
    this.#o.registry.removeAgent(agentId);
  }

  /**
   * Whether the agent is gone for good as far as this controller can tell: known and lost (see
   * {@link isLost}), or unknown — never heard from since this controller started, or removed —
   * for at least the loss timeout. A delete, reset or expiry then stops waiting for it.
   */
  isGone(agentId: string): boolean {
    const known = this.#agents.get(agentId);
    if (known) return known.lost;
    const unknownSince = this.#leftAt.get(agentId) ?? this.#startedAt;
    return this.#now() - unknownSince >= this.#o.lossTimeoutMs;
  }

  /** Remembers when an agent left; entries older than the loss timeout say nothing more than "gone". */
  #noteLeft(agentId: string): void {
    const now = this.#now();
    for (const [id, at] of this.#leftAt) if (now - at >= this.#o.lossTimeoutMs) this.#leftAt.delete(id);
    this.#leftAt.set(agentId, now);
  }

  /** A signal that aborts when the agent is declared lost or leaves; undefined for an unknown agent. */
  aliveSignal(agentId: string): AbortSignal | undefined {
    return this.#agents.get(agentId)?.alive.signal;
  }

  /** Milliseconds until an unknown agent counts as gone (0 when it does; undefined when it is known). */
  untilGone(agentId: string): number | undefined {
    if (this.#agents.has(agentId)) return undefined;
    const unknownSince = this.#leftAt.get(agentId) ?? this.#startedAt;
    return Math.max(0, unknownSince + this.#o.lossTimeoutMs - this.#now());
  }

  /** The agent's API, while it is registered. */
  client(agentId: string): AgentApi | undefined {
    return this.#agents.get(agentId)?.client;
  }

  /** Where the agent serves and its token, while it is registered (for calls that stream, such as file transfers). */
  endpoint(agentId: string): { url: string; token: string | undefined } | undefined {
    const known = this.#agents.get(agentId);
    if (!known) return undefined;
    return { url: known.registration.url, token: known.registration.token ?? this.#o.defaultAgentToken };
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
   * The sandbox as its agent reported it, from a status asked for strictly after `notBefore` (the
   * controller's time when the create was answered), so a report that may predate the create
   * cannot say the sandbox is missing.
   */
  sandboxOnAgent(agentId: string, sandboxId: string, notBefore: number): OnAgent | undefined {
    const latest = this.status(agentId);
    // Strictly after: a status read in the same millisecond as the create may have been read just
    // before it, and must not make a sandbox that is being created look missing.
    if (!latest || latest.at <= notBefore) return undefined;
    const found = latest.status.sandboxes.find((s) => s.sandboxId === sandboxId);
    return found ? { present: true, phase: found.phase, exitCode: found.exitCode } : { present: false };
  }

  /** Asks every agent for its status once, concurrently; resolves when all have answered or failed. */
  async probeAll(timeoutMs?: number): Promise<void> {
    await Promise.all([...this.#agents.keys()].map((id) => this.probe(id, timeoutMs)));
  }

  /** Asks one agent for its status (joins a request already in flight). */
  probe(agentId: string, timeoutMs = STATUS_PATIENCE_MS): Promise<void> {
    const known = this.#agents.get(agentId);
    if (!known) return Promise.resolve();
    known.probing ??= this.#probe(agentId, known, timeoutMs).finally(() => {
      known.probing = undefined;
    });
    return known.probing;
  }

  /** Sends one liveness probe to the agent (joins one in flight) and applies the loss rule to the verdict. */
  checkLiveness(agentId: string): Promise<void> {
    const known = this.#agents.get(agentId);
    if (!known) return Promise.resolve();
    known.checking ??= this.#probeLiveness(known.url, this.#livenessTimeoutMs)
      .then(({ verdict, detail }) => {
        if (this.#agents.get(agentId) === known) this.#judge(agentId, known, verdict, detail);
      })
      .catch((err: unknown) => this.#o.logger.error({ agentId, err }, "liveness probe broke"))
      .finally(() => {
        known.checking = undefined;
      });
    return known.checking;
  }

  /** Probes on an interval until `signal` aborts. Neither probe waits for the other, or for a slow agent. */
  async run(signal: AbortSignal): Promise<void> {
    this.#stalls.start();
    try {
      while (!signal.aborted) {
        for (const id of this.#agents.keys()) {
          void this.probe(id);
          void this.checkLiveness(id);
        }
        await sleep(this.#clock, this.#o.probeIntervalMs, signal);
      }
    } finally {
      this.#stalls.stop();
    }
  }

  /** Applies the loss rule after a liveness verdict: the one place an agent is declared lost. */
  #judge(agentId: string, known: KnownAgent, verdict: ProbeVerdict, detail: string): void {
    const now = this.#now();
    known.liveness = livenessAfter(known.liveness, verdict, now);
    if (verdict === "answered") {
      if (known.lost) {
        this.#o.logger.info({ agentId }, "lost agent answers again; asking for its status");
        void this.probe(agentId);
      }
      return;
    }
    if (known.lost || !isLost(known.liveness, now, this.#o.lossTimeoutMs)) return;
    known.lost = true;
    known.alive.abort();
    this.#o.logger.warn(
      {
        agentId,
        failedProbes: known.liveness.failures,
        silentForMs: now - known.liveness.lastAnswerAt,
        lastProbe: detail,
      },
      "agent lost: its liveness probes failed and it has not answered for the loss timeout",
    );
    this.#o.registry.markHealthy(agentId, false, now);
    this.#o.onAgentChanged(agentId, undefined);
  }

  async #probe(agentId: string, known: KnownAgent, timeoutMs: number): Promise<void> {
    const startedAt = this.#now();
    try {
      const status = await known.client.status(undefined, timeoutMs);
      if (this.#agents.get(agentId) !== known) return;
      if (status.agentId !== agentId) {
        throw new Error(`answered as agent ${status.agentId}`);
      }
      const wasHealthy =
        known.status !== undefined && !known.lost && this.#o.registry.agent(agentId)?.healthy === true;
      const now = this.#now();
      known.status = status;
      known.statusAt = startedAt;
      known.lastStatus = now;
      known.liveness = livenessAfter(known.liveness, "answered", now);
      if (known.lost) {
        this.#o.logger.info({ agentId }, "agent is back");
        known.alive = new AbortController();
      }
      known.lost = false;
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
        lastHeartbeat: now,
        runtime: status.runtime,
        ...(status.networkMode ? { networkMode: status.networkMode } : {}),
        prewarm: Object.fromEntries((status.prewarm?.templates ?? []).map((t) => [t.key, t.ready])),
      });
      this.#restoreSlots(agentId, status.sandboxes, startedAt);
      // The agent's revision moves whenever its sandbox set or a phase changes; older agents send none.
      const digest =
        status.revision === undefined
          ? status.sandboxes.map((s) => `${s.sandboxId}:${s.phase}:${s.exitCode}`).join(",")
          : `r${status.revision}`;
      if (!wasHealthy || digest !== known.digest) this.#o.onAgentChanged(agentId, status);
      known.digest = digest;
      this.#o.onStatus?.(agentId, status);
    } catch (err) {
      // A failed or slow status is no verdict on the agent's life: liveness probes judge that.
      if (this.#agents.get(agentId) === known) {
        this.#o.logger.debug({ agentId, err }, "agent status failed");
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

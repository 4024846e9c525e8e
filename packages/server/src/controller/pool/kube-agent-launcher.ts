/** The Kubernetes AgentLauncher: a pool's agents as Pods, known from a Pod informer plus what was just asked for. */
import { randomInt } from "node:crypto";
import { ErrorCode, isFsbError, type SandboxPool } from "@fast-sandbox/api";
import { type Clock, systemClock } from "../../core/clock.ts";
import { AGENT_POD_SELECTOR } from "../../kube/agent-pod-labels.ts";
import { Informer, type InformerLogger } from "../../kube/informer.ts";
import type { ListWatcher } from "../../kube/list-watch.ts";
import type {
  AgentLauncher,
  AgentLauncherEvents,
  LaunchedAgent,
  LaunchedAgentState,
  PoolRef,
} from "./agent-launcher.ts";
import { buildAgentPod } from "./agent-pod.ts";
import {
  type AgentPod,
  type AgentPodSpec,
  type AgentPodStatus,
  type AgentPodView,
  viewAgentPod,
} from "./agent-pod-view.ts";
import { DEFAULT_EXPECTATION_TIMEOUT_MS, LaunchExpectations } from "./expectations.ts";
import type { AgentPodApi } from "./kube-agent-pods.ts";

/** An agent id is `<pool>-<5 random>` and names its Pod: a DNS label of at most 63 characters. */
const SUFFIX_LENGTH = 5;
const MAX_POOL_PART = 63 - SUFFIX_LENGTH - 1;
const SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
/** A create that collides with a Pod the cache does not know yet is retried under a new id. */
const CREATE_ATTEMPTS = 3;

/** Where the launcher logs; a pino Logger fits. */
export interface KubeAgentLauncherLogger extends InformerLogger {
  info(fields: Record<string, unknown>, message: string): void;
}

export interface KubeAgentLauncherOptions extends AgentLauncherEvents {
  /** The API server's agent Pods (KubeAgentPods), or a fake in tests. */
  pods: ListWatcher & AgentPodApi;
  /** The agent image for pools whose template names none (the controller's --agent-image). */
  image: string;
  /** A Secret in each pool's namespace whose `agent-token` key holds the agents' token. */
  tokenSecretName: string;
  /** The agents' ServiceAccount unless a pool's template names one. */
  serviceAccountName?: string;
  /** The agent HTTP port (the controller's --agent-port). */
  agentPort: number;
  /** When set, agents also register themselves with the controller at this URL. */
  controllerUrl?: string;
  /** Only this namespace's pools get agents (default: all namespaces). */
  namespace?: string;
  clock?: Clock;
  logger: KubeAgentLauncherLogger;
  expectationTimeoutMs?: number;
  /** The random part of new agent ids (tests pin it). */
  randomSuffix?: () => string;
}

/**
 * Agents are Pods built by buildAgentPod from the pool's template, named after the agent. What runs is
 * read from a Pod informer (label {@link AGENT_POD_SELECTOR}); what was just asked for is kept as
 * expectations until the informer shows it (a created Pod appears, a deleted one goes, or a few
 * minutes pass), so `agents()` never misses a launch or removal in flight.
 *
 * A Pod that is Running, Ready and has an IP is reported up (its URL is `http://<podIP>:<port>`); one
 * that stops being so, or goes, is reported down. A Pod that failed for good (evicted, its node lost)
 * is deleted: the pool controller then sees one agent fewer and launches a replacement.
 */
export class KubeAgentLauncher implements AgentLauncher {
  /** The scheduler puts each Pod on a node of its choice. */
  readonly oneNode = false;
  readonly #o: KubeAgentLauncherOptions;
  readonly #clock: Clock;
  readonly #informer: Informer<AgentPodSpec, AgentPodStatus>;
  readonly #expectations: LaunchExpectations;
  /** Agents reported up, with the URL they were reported at. */
  readonly #up = new Map<string, string>();
  /** Failed Pods being deleted, so each is deleted once. */
  readonly #replacing = new Set<string>();
  readonly #abort = new AbortController();
  #run: Promise<void> | undefined;

  constructor(options: KubeAgentLauncherOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#expectations = new LaunchExpectations(
      options.expectationTimeoutMs ?? DEFAULT_EXPECTATION_TIMEOUT_MS,
    );
    this.#informer = new Informer<AgentPodSpec, AgentPodStatus>(options.pods, {
      kind: "Pod",
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      labelSelector: AGENT_POD_SELECTOR,
      clock: this.#clock,
      logger: options.logger,
    });
    this.#informer.addHandlers({
      onAdd: (pod) => this.#observe(pod),
      onUpdate: (_old, pod) => this.#observe(pod),
      onDelete: (pod) => this.#gone(pod),
    });
  }

  /** Starts the Pod informer and resolves once it has listed the agent Pods that already exist. */
  async start(signal: AbortSignal): Promise<void> {
    const stop = AbortSignal.any([signal, this.#abort.signal]);
    this.#run = this.#informer.run(stop);
    await this.#informer.waitForSync(stop);
  }

  agents(pool: PoolRef): LaunchedAgent[] {
    const now = this.#clock.now();
    const byId = new Map<string, LaunchedAgent>();
    for (const pod of this.#informer.list(pool.namespace)) {
      const view = this.#view(pod);
      if (view.pool?.name !== pool.name) continue;
      byId.set(view.agentId, {
        agentId: view.agentId,
        pool: { ...view.pool },
        state: launchState(view),
        launchedAt: view.createdAt,
      });
    }
    for (const e of this.#expectations.forPool(pool, now)) {
      const seen = byId.get(e.agentId);
      if (e.kind === "delete") {
        byId.set(e.agentId, {
          agentId: e.agentId,
          pool: e.pool,
          state: "stopping",
          launchedAt: seen?.launchedAt ?? e.at,
        });
      } else if (seen === undefined) {
        byId.set(e.agentId, { agentId: e.agentId, pool: e.pool, state: "starting", launchedAt: e.at });
      }
    }
    return [...byId.values()];
  }

  async launch(pool: SandboxPool): Promise<string> {
    const ref = { namespace: pool.metadata.namespace, name: pool.metadata.name };
    for (let attempt = 1; ; attempt++) {
      const agentId = this.#newAgentId(ref.name);
      const pod = buildAgentPod(pool, {
        agentId,
        image: this.#o.image,
        tokenSecretName: this.#o.tokenSecretName,
        agentPort: this.#o.agentPort,
        ...(this.#o.serviceAccountName === undefined
          ? {}
          : { serviceAccountName: this.#o.serviceAccountName }),
        ...(this.#o.controllerUrl === undefined ? {} : { controllerUrl: this.#o.controllerUrl }),
      });
      this.#expectations.expectCreate(ref, agentId, this.#clock.now());
      try {
        await this.#o.pods.create(pod);
        this.#o.logger.info({ pool: `${ref.namespace}/${ref.name}`, agentId }, "created agent Pod");
        return agentId;
      } catch (err) {
        this.#expectations.forget(agentId);
        if (!isFsbError(err, ErrorCode.AlreadyExists) || attempt >= CREATE_ATTEMPTS) throw err;
      }
    }
  }

  async remove(pool: PoolRef, agentId: string): Promise<void> {
    this.#expectations.expectDelete(pool, agentId, this.#clock.now());
    try {
      await this.#o.pods.delete(pool.namespace, agentId);
    } catch (err) {
      this.#expectations.forget(agentId);
      throw err;
    }
    this.#o.logger.info({ pool: `${pool.namespace}/${pool.name}`, agentId }, "deleted agent Pod");
  }

  /** Stops the informer; the Pods keep running (a new controller adopts them from its own informer). */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#run;
  }

  #view(pod: AgentPod): AgentPodView {
    return viewAgentPod(pod, { agentPort: this.#o.agentPort });
  }

  #observe(pod: AgentPod): void {
    const view = this.#view(pod);
    const id = view.agentId;
    this.#expectations.observedPresent(id);
    const registration = view.registration;
    if (registration !== undefined) {
      if (this.#up.get(id) !== registration.url) {
        this.#up.set(id, registration.url);
        this.#o.onAgentUp(registration);
      }
    } else if (this.#up.delete(id)) {
      this.#o.onAgentDown(id);
    }
    if (view.phase === "failed" && view.pool !== undefined) this.#replace(view.pool, id);
  }

  #gone(pod: AgentPod): void {
    const id = this.#view(pod).agentId;
    this.#expectations.observedGone(id);
    if (this.#up.delete(id)) this.#o.onAgentDown(id);
  }

  /** Deletes a failed Pod; the pool controller launches its replacement once it sees the pool short. */
  #replace(pool: PoolRef, agentId: string): void {
    if (this.#replacing.has(agentId)) return;
    this.#replacing.add(agentId);
    this.#o.logger.warn({ pool: `${pool.namespace}/${pool.name}`, agentId }, "agent Pod failed; deleting it");
    this.#o.onAgentFailed?.(pool, agentId, `Pod ${agentId} failed; deleting it for a replacement`);
    this.remove(pool, agentId)
      .catch((err: unknown) => this.#o.logger.warn({ err, agentId }, "could not delete a failed agent Pod"))
      .finally(() => this.#replacing.delete(agentId));
  }

  #newAgentId(poolName: string): string {
    const base = poolName.slice(0, MAX_POOL_PART).replace(/-+$/, "");
    const now = this.#clock.now();
    for (;;) {
      const id = `${base}-${(this.#o.randomSuffix ?? randomSuffix)()}`;
      const known =
        this.#informer.list().some((p) => p.metadata.name === id) || this.#expectations.has(id, now);
      if (!known) return id;
    }
  }
}

function launchState(view: AgentPodView): LaunchedAgentState {
  switch (view.phase) {
    case "ready":
      return "running";
    case "pending":
      return "starting";
    default:
      return "stopping";
  }
}

function randomSuffix(): string {
  let out = "";
  for (let i = 0; i < SUFFIX_LENGTH; i++) out += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)];
  return out;
}

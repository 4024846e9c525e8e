/** Fast mode's create (docs/api.md, "Consistency modes"): place, start the container on an agent (retrying once on another when safe), record. */
import {
  API_VERSION,
  DEFAULT_POOL,
  ErrorCode,
  FsbError,
  objectKey,
  SANDBOX_FINALIZER,
  SANDBOX_KIND,
  type Sandbox,
  type SandboxSpec,
} from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { ChangeSignal } from "../../core/change-signal.ts";
import type { Clock } from "../../core/clock.ts";
import type { EventRecorder } from "../../core/event-recorder.ts";
import type { ObjectStore } from "../../store/object-store.ts";
import { AgentCallError } from "../agent-call-error.ts";
import type { AgentMonitor } from "../agent-monitor.ts";
import { agentCreateRequest } from "../agent-request.ts";
import type { ControllerMetrics } from "../controller-metrics.ts";
import { agentHasNoContainer, apiErrorOfCreate, decideCreateRetry } from "../create-failure.ts";
import { allocateSandbox } from "../placement.ts";
import type { PoolRoom } from "../pool/pool-growth.ts";
import type { AgentRegistry } from "../registry/agent-registry.ts";
import { allocateWhenRoom, type CreateDeadline } from "../room-wait.ts";
import { newSandboxId } from "../sandbox-id.ts";
import { createdAtAnnotations, startTime } from "./created-at.ts";
import { type PersistOutcome, persistFastCreate } from "./fast-create-persist.ts";
import { type Placement, scheduled, started } from "./transitions.ts";

/** A create's object before it exists: where, what, and its labels. */
export interface CreateTarget {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  spec: SandboxSpec;
}

/** A new object is generation 1, and its first status is of that generation. */
const FIRST_GENERATION = 1;

/** The object a fast create answers with, Bound to its placement until the agent has started it. */
export function boundSandbox(target: CreateTarget, placement: Placement, now: number): Sandbox {
  return {
    apiVersion: API_VERSION,
    kind: SANDBOX_KIND,
    metadata: {
      name: target.name,
      namespace: target.namespace,
      uid: "",
      resourceVersion: "",
      generation: FIRST_GENERATION,
      creationTimestamp: new Date(now).toISOString(),
      labels: target.labels,
      annotations: createdAtAnnotations(now),
      finalizers: [SANDBOX_FINALIZER],
    },
    spec: target.spec,
    status: scheduled({ observedGeneration: FIRST_GENERATION }, placement, now),
  };
}

export interface StartOptions {
  registry: AgentRegistry;
  monitor: AgentMonitor;
  logger: Logger;
  now: () => number;
}

/**
 * Has the agent of `sandbox` (Bound) start it, and makes it Running. `sandbox.status` follows the
 * placement as it changes, so reads of the in-flight create see where it is. When the agent fails
 * and provably has no container (create-failure.ts), the sandbox moves once, at once, to another
 * agent under a fresh id. On failure its slot is free and the error is in the API's codes.
 */
export async function startOnAgent(o: StartOptions, sandbox: Sandbox): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const agentId = sandbox.status.assignedAgent!;
    const sandboxId = sandbox.status.sandboxID!;
    const client = o.monitor.client(agentId);
    try {
      if (!client) {
        throw new AgentCallError(ErrorCode.Unavailable, `agent ${agentId} is not known`, {
          delivery: "not-sent",
        });
      }
      const created = await client.create(agentCreateRequest(sandbox, sandboxId));
      sandbox.status = started(sandbox.status, created, startTime(sandbox, o.now()));
      return;
    } catch (err) {
      let decision = decideCreateRetry(err, attempt);
      if (decision === "verifyThenRetry") {
        decision = (await agentHasNoContainer(client, sandboxId)) ? "retryElsewhere" : "giveUp";
      }
      o.registry.release(sandboxId);
      const error = apiErrorOfCreate(err, agentId);
      const next = decision === "retryElsewhere" ? placeElsewhere(o, sandbox, agentId) : undefined;
      if (!next) throw error;
      o.logger.warn(
        { err, agent: agentId, to: next.allocation.agentId, sandbox: sandbox.metadata.name },
        "agent create failed; trying another agent",
      );
      // A fresh status, as for a new object: nothing of the failed placement stays.
      sandbox.status = scheduled({ observedGeneration: FIRST_GENERATION }, next, o.now(), {
        agentId,
        error: error.message,
      });
    }
  }
}

/** A slot on any other agent, now (no waiting: the first agent's error is the answer otherwise). */
function placeElsewhere(o: StartOptions, sandbox: Sandbox, failedAgent: string): Placement | undefined {
  const sandboxId = newSandboxId(sandbox.metadata.name);
  try {
    const allocation = allocateSandbox(
      o.registry,
      { namespace: sandbox.metadata.namespace, name: sandbox.metadata.name, spec: sandbox.spec },
      sandboxId,
      { avoidAgents: [failedAgent] },
    );
    return { sandboxId, allocation };
  } catch {
    return undefined;
  }
}

/** What {@link FastCreates} needs: where to place, start, record, and whom to tell. */
export interface FastCreateOptions {
  store: ObjectStore;
  registry: AgentRegistry;
  monitor: AgentMonitor;
  logger: Logger;
  metrics: ControllerMetrics;
  /** Hands a key to the Sandbox reconciler (once the object is stored). */
  enqueue: (key: string) => void;
  /** A fast create whose object is not stored within this time is undone. */
  orphanTimeoutMs: number;
  /** Whether a create answers only once its object is stored (see FastPathOptions). */
  recordBeforeReply: boolean;
  pools: PoolRoom | undefined;
  changes: ChangeSignal;
  clock: Clock;
  /** Where a stored fast create's Scheduled and Started events go. */
  events?: EventRecorder;
}

interface PendingCreate {
  sandbox: Sandbox;
  /** Settles when the object is stored or the create was undone. */
  settled: Promise<void>;
}

/**
 * Fast creates in flight: placed and started before their object is stored. Reads see them (a
 * client reads its own writes), and a second create, update or delete of the same name waits for
 * the first to settle.
 */
export class FastCreates {
  readonly #o: FastCreateOptions;
  readonly #pending = new Map<string, PendingCreate>();
  /** Creates still looking for room, by key: a second create of the same name waits for the first. */
  readonly #placing = new Map<string, Promise<unknown>>();

  constructor(options: FastCreateOptions) {
    this.#o = options;
  }

  #now(): number {
    return this.#o.clock.now();
  }

  /** Sandbox ids of creates whose object is not stored yet (the orphan collector spares them). */
  pendingSandboxIds(): Set<string> {
    return new Set([...this.#pending.values()].map((p) => p.sandbox.status.sandboxID ?? ""));
  }

  /** The object of the create of `key` in flight, if any. */
  pending(key: string): Sandbox | undefined {
    return this.#pending.get(key)?.sandbox;
  }

  /** Every create in flight, by key. */
  *pendingObjects(): Iterable<[string, Sandbox]> {
    for (const [key, p] of this.#pending) yield [key, p.sandbox];
  }

  /** Resolves once the create of `key` in flight, if any, is stored or undone. */
  async settled(key: string): Promise<void> {
    await this.#pending.get(key)?.settled;
  }

  /** Resolves once no create of `key` is looking for room any more. */
  async placed(key: string): Promise<void> {
    for (let placing = this.#placing.get(key); placing; placing = this.#placing.get(key)) {
      await placing.catch(() => {});
    }
  }

  /** Places, starts and (before or after the reply, see recordBeforeReply) records one sandbox. */
  async create(
    target: CreateTarget,
    deadline: CreateDeadline,
    signal: AbortSignal | undefined,
  ): Promise<Sandbox> {
    const { namespace, name, spec } = target;
    const key = objectKey(namespace, name);
    const sandboxId = newSandboxId(name);
    const placing = allocateWhenRoom({
      allocate: () => allocateSandbox(this.#o.registry, { namespace, name, spec }, sandboxId),
      pools: this.#o.pools,
      changes: this.#o.changes,
      namespace,
      pool: spec.poolRef || DEFAULT_POOL,
      name,
      deadline,
      ...(signal ? { signal } : {}),
      clock: this.#o.clock,
    });
    this.#placing.set(key, placing);
    let allocation: Awaited<typeof placing>;
    try {
      allocation = await placing;
    } finally {
      this.#placing.delete(key);
    }
    const sandbox = boundSandbox(target, { sandboxId, allocation }, this.#now());
    let settle = () => {};
    this.#pending.set(key, { sandbox, settled: new Promise<void>((r) => (settle = r)) });
    try {
      await startOnAgent(
        {
          registry: this.#o.registry,
          monitor: this.#o.monitor,
          logger: this.#o.logger,
          now: () => this.#now(),
        },
        sandbox,
      );
    } catch (err) {
      this.#pending.delete(key);
      settle();
      throw err;
    }
    if (this.#o.recordBeforeReply) {
      const outcome = await this.#persist(sandbox, key, settle);
      if (!outcome.stored) {
        const why = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
        throw new FsbError(
          ErrorCode.Unavailable,
          `sandbox ${key} could not be recorded, so its container was removed: ${why}`,
          { cause: outcome.reason },
        );
      }
      return sandbox;
    }
    // After the reply: the write (an API call to a Kubernetes store) must not delay the answer.
    setImmediate(() => void this.#persist(sandbox, key, settle));
    return sandbox;
  }

  /** Stores a fast create's object (or undoes the create); resolves whether it was stored. */
  #persist(sandbox: Sandbox, key: string, settle: () => void): Promise<PersistOutcome> {
    return persistFastCreate({
      store: this.#o.store,
      monitor: this.#o.monitor,
      registry: this.#o.registry,
      logger: this.#o.logger,
      metrics: this.#o.metrics,
      sandbox,
      deadline: this.#now() + this.#o.orphanTimeoutMs,
      now: () => this.#now(),
      onGiveUp: () => this.#pending.delete(key),
      ...(this.#o.events ? { events: this.#o.events } : {}),
    }).then(
      (outcome) => {
        this.#pending.delete(key);
        if (outcome.stored) this.#o.enqueue(key);
        settle();
        return outcome;
      },
      (err: unknown) => {
        this.#o.logger.error({ err, sandbox: key }, "recording a fast create failed");
        this.#pending.delete(key);
        settle();
        return { stored: false, reason: err };
      },
    );
  }
}

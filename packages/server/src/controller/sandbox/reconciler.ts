/** Drives one Sandbox towards its spec: plan a step, do it, record status; repeat until there is nothing to do. */
import {
  canonicalJson,
  ErrorCode,
  type FsbError,
  GRACE_ANNOTATION,
  isFsbError,
  objectKey,
  SANDBOX_FINALIZER,
  SANDBOX_KIND,
  type Sandbox,
  SandboxPhase,
  SandboxReason,
  type SandboxStatus,
  splitObjectKey,
} from "@fast-sandbox/api";
import type { Logger } from "pino";
import { type EventRecorder, NO_EVENTS } from "../../core/event-recorder.ts";
import type { ObjectStore } from "../../store/object-store.ts";
import type { AgentMonitor } from "../agent-monitor.ts";
import { type Removal, removeContainer } from "../container-removal.ts";
import { recordEvent } from "../event-reasons.ts";
import { allocateSandbox } from "../placement.ts";
import type { PoolCatalog } from "../pool-catalog.ts";
import { checkPoolOf } from "../pool-preconditions.ts";
import type { AgentRegistry } from "../registry/agent-registry.ts";
import { newSandboxId } from "../sandbox-id.ts";
import { planSandbox, type SandboxDecision, untilExpiry } from "./plan.ts";
import { deletedEvent, sandboxEvent } from "./sandbox-events.ts";
import { next, SandboxStarter, type Step } from "./start.ts";
import {
  agentBack,
  expired,
  failed,
  lost,
  recoveryTimedOut,
  recreating,
  reset,
  scheduled,
  succeeded,
  terminating,
  unschedulable,
} from "./transitions.ts";
import { unschedulableReason } from "./unschedulable.ts";

/** Steps done in one pass before yielding to the queue, so one object cannot hog a worker. */
const MAX_STEPS = 8;
/** Retry delay when no agent has room; capacity frees up as sandboxes go. */
const NO_CAPACITY_RETRY_MS = 1000;
/**
 * Retry delay when no agent has the image, or the pool does not exist or cannot serve the spec:
 * loading an image or applying a pool takes a person or a pipeline.
 */
const PRECONDITION_RETRY_MS = 5000;
/** Retry delay when the assigned agent is not known yet (the controller just restarted). */
const UNKNOWN_AGENT_RETRY_MS = 500;

/** Options of {@link SandboxReconciler}. */
export interface SandboxReconcilerOptions {
  store: ObjectStore;
  registry: AgentRegistry;
  monitor: AgentMonitor;
  logger: Logger;
  now?: () => number;
  /**
   * Called after every status write, and after every step that found its status already right
   * (a placement attempt that again found no room), so a create waiting on the sandbox wakes at
   * once. `failure` is the error of a create that failed, with its code, for the caller to answer with.
   */
  onStatus?: (sandbox: Sandbox, failure?: FsbError) => void;
  /** Which pools exist: a sandbox naming none stays Pending (PoolNotFound). */
  poolCatalog: PoolCatalog;
  /**
   * Until this time (epoch ms) an agent the registry does not know yet is not taken for lost: after
   * a controller restart, agents that register themselves come back with their next heartbeat.
   */
  unknownAgentGraceUntil?: () => number;
  /** Where the Kubernetes Events of status changes go (sandbox-events.ts). */
  events?: EventRecorder;
}

/** What a reconcile asks of its queue. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

/**
 * Level-based: each pass re-reads the object, so it is safe after a crash, a missed event or a
 * duplicate. Errors are thrown for the queue to retry with backoff; a write conflict is just that.
 */
export class SandboxReconciler {
  readonly #o: SandboxReconcilerOptions;
  readonly #now: () => number;
  readonly #starter: SandboxStarter;
  readonly #events: EventRecorder;

  constructor(options: SandboxReconcilerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#events = options.events ?? NO_EVENTS;
    this.#starter = new SandboxStarter({
      registry: options.registry,
      monitor: options.monitor,
      writeStatus: (sandbox, status, failure) => this.#writeStatus(sandbox, status, failure),
      now: () => this.#now(),
    });
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitObjectKey(key);
    let sandbox: Sandbox;
    try {
      sandbox = await this.#o.store.get(SANDBOX_KIND, namespace, name);
    } catch (err) {
      if (isFsbError(err, ErrorCode.NotFound)) return {};
      throw err;
    }
    for (let step = 0; step < MAX_STEPS; step++) {
      const waitForAgent = this.#awaitingUnknownAgent(sandbox);
      if (waitForAgent !== undefined) return this.#byExpiry(sandbox, waitForAgent);
      const decision = this.#plan(sandbox);
      if (decision.kind === "wait") return this.#byExpiry(sandbox, decision.requeueAfterMs);
      const next = await this.#act(sandbox, decision);
      if ("requeueAfterMs" in next) return this.#byExpiry(sandbox, next.requeueAfterMs);
      if (!next.sandbox) return {};
      sandbox = next.sandbox;
    }
    return { requeueAfterMs: 0 };
  }

  /**
   * A retry asked for (no room yet, an agent to wait for) never makes an expiry late: the key comes
   * back by expireTime at the latest, and the queue keeps one timer for its earliest key.
   */
  #byExpiry(sandbox: Sandbox, requeueAfterMs: number | undefined): ReconcileResult {
    const remaining = untilExpiry(sandbox, this.#now());
    const soonest =
      remaining === undefined || (requeueAfterMs !== undefined && requeueAfterMs <= remaining)
        ? requeueAfterMs
        : remaining;
    return soonest === undefined ? {} : { requeueAfterMs: soonest };
  }

  /** Milliseconds to wait for the assigned agent to (re-)register, or undefined to go on planning. */
  #awaitingUnknownAgent(sandbox: Sandbox): number | undefined {
    const { assignedAgent, phase } = sandbox.status ?? {};
    if (!assignedAgent || sandbox.metadata.deletionTimestamp) return undefined;
    if (phase !== SandboxPhase.Running && phase !== SandboxPhase.Bound) return undefined;
    const agent = this.#o.registry.agent(assignedAgent);
    // Registered and answered at least once: its health is real. A registration not yet probed
    // (lastHeartbeat 0) says nothing about health yet.
    if (agent && !agent.placeholder && agent.lastHeartbeat > 0) return undefined;
    const left = (this.#o.unknownAgentGraceUntil?.() ?? 0) - this.#now();
    return left > 0 ? Math.min(left, UNKNOWN_AGENT_RETRY_MS) : undefined;
  }

  #plan(sandbox: Sandbox): SandboxDecision {
    const status = sandbox.status ?? {};
    const agentId = status.assignedAgent;
    const agent = agentId ? this.#o.registry.agent(agentId) : undefined;
    const startedAt = status.startedAt ? Date.parse(status.startedAt) : 0;
    return planSandbox({
      sandbox,
      now: this.#now(),
      agent: agent && !agent.placeholder ? { healthy: agent.healthy } : undefined,
      onAgent:
        agentId && status.sandboxID
          ? this.#o.monitor.sandboxOnAgent(agentId, status.sandboxID, startedAt)
          : undefined,
    });
  }

  /** Does one step: its side effects, then one transition written as the new status. */
  async #act(sandbox: Sandbox, decision: Exclude<SandboxDecision, { kind: "wait" }>): Promise<Step> {
    const log = this.#o.logger.child({
      sandbox: objectKey(sandbox.metadata.namespace, sandbox.metadata.name),
    });
    log.debug({ decision: decision.kind }, "reconcile step");
    const status = sandbox.status ?? {};
    const now = this.#now();
    switch (decision.kind) {
      case "addFinalizer":
        return next(
          await this.#o.store.update({
            ...sandbox,
            metadata: {
              ...sandbox.metadata,
              finalizers: [...sandbox.metadata.finalizers, SANDBOX_FINALIZER],
            },
          }),
        );
      case "schedule":
        return this.#schedule(sandbox);
      case "start":
        return this.#starter.start(sandbox, log);
      case "succeed":
        // As for a failure: the process is done, the container goes, its log stays until the delete.
        await this.#removeBestEffort(status, { gracePeriodSeconds: 0, keepLog: true });
        log.info("sandbox succeeded");
        return this.#apply(sandbox, succeeded(status, now));
      case "fail":
        await this.#removeBestEffort(status, { gracePeriodSeconds: 0, keepLog: true });
        log.info({ exitCode: decision.exitCode, reason: decision.reason }, "sandbox failed");
        return this.#apply(sandbox, failed(status, decision.reason, decision.exitCode, now));
      case "lose":
        log.warn({ agent: status.assignedAgent }, "sandbox lost with its agent");
        return this.#apply(sandbox, lost(status, now));
      case "revive":
        return this.#apply(sandbox, agentBack(status, now));
      case "recreate":
        // The old incarnation's slot goes; its container, if the agent ever shows it again, is an
        // orphan then (no object points at it) and is removed.
        this.#release(status);
        log.info({ recreations: (status.recreations ?? 0) + 1 }, "recreating sandbox");
        return this.#apply(sandbox, recreating(status, now));
      case "giveUp":
        return this.#apply(sandbox, recoveryTimedOut(status, now));
      case "reset":
        return this.#reset(sandbox, log);
      case "expire":
        log.info("sandbox expired; stopping its container");
        return this.#apply(sandbox, expired(status, false, now));
      case "stopExpired":
        return this.#stopExpired(sandbox, log);
      case "cleanup":
        return this.#cleanup(sandbox, log);
    }
  }

  async #reset(sandbox: Sandbox, log: Logger): Promise<Step> {
    const removal = await this.#remove(sandbox, { gracePeriodSeconds: graceOf(sandbox) }, log);
    if (removal.kind === "wait") return { requeueAfterMs: removal.retryAfterMs };
    log.info("resetting sandbox");
    return this.#apply(sandbox, reset(sandbox.status ?? {}, sandbox.spec.resetRevision, this.#now()));
  }

  /**
   * The container of an Expired sandbox gets its grace period and goes; its log stays. The pass ends
   * there: the agent's next status, which no longer lists it, is what says it is gone.
   */
  async #stopExpired(sandbox: Sandbox, log: Logger): Promise<Step> {
    const removal = await this.#remove(sandbox, { gracePeriodSeconds: graceOf(sandbox), keepLog: true }, log);
    if (removal.kind === "wait") return { requeueAfterMs: removal.retryAfterMs };
    if (removal.kind === "removed") {
      log.info("expired sandbox's container removed");
      return { sandbox: undefined };
    }
    return this.#apply(sandbox, expired(sandbox.status ?? {}, true, this.#now()));
  }

  /** Terminating, then the container goes, then the finalizer (and with it the object). */
  async #cleanup(sandbox: Sandbox, log: Logger): Promise<Step> {
    const status = sandbox.status ?? {};
    if (status.phase !== SandboxPhase.Terminating) {
      sandbox = await this.#writeStatus(sandbox, terminating(status));
    }
    const removal = await this.#remove(sandbox, { gracePeriodSeconds: graceOf(sandbox) }, log);
    if (removal.kind === "wait") return { requeueAfterMs: removal.retryAfterMs };
    if (status.sandboxID) this.#starter.forget(status.sandboxID);
    const finalizers = sandbox.metadata.finalizers.filter((f) => f !== SANDBOX_FINALIZER);
    await this.#o.store.update({ ...sandbox, metadata: { ...sandbox.metadata, finalizers } });
    recordEvent(this.#events, sandbox, deletedEvent(removal.kind === "left"));
    log.info(removal.kind === "left" ? "sandbox deleted without its agent" : "sandbox deleted");
    return { sandbox: undefined };
  }

  async #schedule(sandbox: Sandbox): Promise<Step> {
    const status = sandbox.status ?? {};
    const sandboxId = newSandboxId(sandbox.metadata.name);
    const spec = sandbox.spec;
    let allocation: ReturnType<AgentRegistry["allocate"]>;
    try {
      await checkPoolOf(this.#o.poolCatalog, sandbox.metadata.namespace, spec);
      allocation = allocateSandbox(
        this.#o.registry,
        { namespace: sandbox.metadata.namespace, name: sandbox.metadata.name, spec },
        sandboxId,
      );
    } catch (err) {
      const reason = unschedulableReason(err);
      if (reason === undefined) throw err;
      // Room, the image or the pool may appear later (sandboxes end, images get loaded, a pool is
      // applied): stay Pending and look again. A create waiting on the sandbox hears the error itself.
      const { message } = err as FsbError;
      await this.#writeStatus(sandbox, unschedulable(status, reason, message, this.#now()), err as FsbError);
      return {
        requeueAfterMs: reason === SandboxReason.NoCapacity ? NO_CAPACITY_RETRY_MS : PRECONDITION_RETRY_MS,
      };
    }
    try {
      return next(
        await this.#writeStatus(sandbox, scheduled(status, { sandboxId, allocation }, this.#now())),
      );
    } catch (err) {
      this.#o.registry.release(sandboxId);
      throw err;
    }
  }

  /** Writes the status one transition produced, and goes on with the object. */
  async #apply(sandbox: Sandbox, status: SandboxStatus): Promise<Step> {
    return next(await this.#writeStatus(sandbox, status));
  }

  /** Removes the container through its agent, or leaves it to the janitor once that agent is gone. */
  #remove(
    sandbox: Sandbox,
    options: { gracePeriodSeconds?: number; keepLog?: boolean },
    log: Logger,
  ): Promise<Removal> {
    return removeContainer(
      { agents: this.#o.monitor, release: (id) => this.#o.registry.release(id), logger: log },
      sandbox.status ?? {},
      options,
    );
  }

  /** For a sandbox that already failed: try to remove the container, and free the slot whatever happens. */
  async #removeBestEffort(
    status: SandboxStatus,
    options: { gracePeriodSeconds?: number; keepLog?: boolean },
  ) {
    if (!status.assignedAgent || !status.sandboxID) return;
    const client = this.#o.monitor.isGone(status.assignedAgent)
      ? undefined
      : this.#o.monitor.client(status.assignedAgent);
    await client
      ?.delete(status.sandboxID, options, this.#o.monitor.aliveSignal(status.assignedAgent))
      .catch(() => {});
    this.#o.registry.release(status.sandboxID);
  }

  #release(status: SandboxStatus): void {
    if (status.sandboxID) this.#o.registry.release(status.sandboxID);
  }

  /**
   * Writes status only when it changed, stamping observedGeneration. Waiters hear of the result
   * either way: an unchanged status is still news of an attempt (another "no room").
   */
  async #writeStatus(sandbox: Sandbox, status: SandboxStatus, failure?: FsbError): Promise<Sandbox> {
    const desired = { ...status, observedGeneration: sandbox.metadata.generation };
    const written =
      canonicalJson(desired) === canonicalJson(sandbox.status ?? {})
        ? sandbox
        : await this.#o.store.updateStatus({ ...sandbox, status: desired });
    recordEvent(this.#events, written, sandboxEvent(sandbox.status ?? {}, desired));
    this.#o.onStatus?.(written, failure);
    return written;
  }
}

function graceOf(sandbox: Sandbox): number | undefined {
  const raw = sandbox.metadata.annotations[GRACE_ANNOTATION];
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isInteger(value) && value >= 0 ? value : undefined;
}

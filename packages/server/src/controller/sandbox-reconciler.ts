/** Drives one Sandbox towards its spec: plan a step, do it, record status; repeat until there is nothing to do. */
import {
  canonicalJson,
  ErrorCode,
  type FsbError,
  isFsbError,
  objectKey,
  SANDBOX_FINALIZER,
  type Sandbox,
  SandboxCondition,
  SandboxPhase,
  SandboxReason,
  type SandboxStatus,
  splitObjectKey,
} from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { ObjectStore } from "../store/object-store.ts";
import type { AgentMonitor } from "./agent-monitor.ts";
import { setCondition } from "./conditions.ts";
import { type Removal, removeContainer } from "./container-removal.ts";
import { allocateSandbox } from "./placement.ts";
import type { AgentRegistry } from "./registry/agent-registry.ts";
import { newSandboxId } from "./sandbox-id.ts";
import { planSandbox, type SandboxDecision } from "./sandbox-plan.ts";
import { next, SandboxStarter, type Step, unassigned } from "./sandbox-start.ts";

export const SANDBOX_KIND = "Sandbox";
/** Annotation a delete uses to carry its grace period to the cleanup. */
export const GRACE_ANNOTATION = "sandbox.fast.io/delete-grace-seconds";
/** Steps done in one pass before yielding to the queue, so one object cannot hog a worker. */
const MAX_STEPS = 8;
/** Retry delay when no agent has room; capacity frees up as sandboxes go. */
const NO_CAPACITY_RETRY_MS = 1000;
/** Retry delay when no agent has the image; loading one into a node takes a person or a pipeline. */
const IMAGE_RETRY_MS = 5000;
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
  /**
   * Until this time (epoch ms) an agent the registry does not know yet is not taken for lost: after
   * a controller restart, agents that register themselves come back with their next heartbeat.
   */
  unknownAgentGraceUntil?: number;
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

  constructor(options: SandboxReconcilerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#starter = new SandboxStarter({
      registry: options.registry,
      monitor: options.monitor,
      writeStatus: (sandbox, status, failure) => this.#writeStatus(sandbox, status, failure),
      condition: (status, type, value, reason, message) =>
        this.#condition(status, type, value, reason, message),
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
      if (waitForAgent !== undefined) return { requeueAfterMs: waitForAgent };
      const decision = this.#plan(sandbox);
      if (decision.kind === "wait") {
        return decision.requeueAfterMs === undefined ? {} : { requeueAfterMs: decision.requeueAfterMs };
      }
      const next = await this.#act(sandbox, decision);
      if ("requeueAfterMs" in next) return next;
      if (!next.sandbox) return {};
      sandbox = next.sandbox;
    }
    return { requeueAfterMs: 0 };
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
    const left = (this.#o.unknownAgentGraceUntil ?? 0) - this.#now();
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

  async #act(sandbox: Sandbox, decision: Exclude<SandboxDecision, { kind: "wait" }>): Promise<Step> {
    const log = this.#o.logger.child({
      sandbox: objectKey(sandbox.metadata.namespace, sandbox.metadata.name),
    });
    log.debug({ decision: decision.kind }, "reconcile step");
    const status = sandbox.status ?? {};
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
      case "fail": {
        await this.#removeBestEffort(status, { gracePeriodSeconds: 0, keepLog: true });
        const message =
          decision.reason === "ContainerExited"
            ? `the container exited with code ${decision.exitCode ?? "unknown"}`
            : "the container is gone from its agent";
        log.info({ exitCode: decision.exitCode, reason: decision.reason }, "sandbox failed");
        return next(
          await this.#writeStatus(sandbox, {
            ...status,
            phase: SandboxPhase.Failed,
            ...(decision.exitCode === undefined ? {} : { exitCode: decision.exitCode }),
            endpoints: [],
            conditions: this.#condition(status, SandboxCondition.Ready, "False", decision.reason, message),
          }),
        );
      }
      case "lose":
        // The slot stays held: the container may still run on the agent, which may come back (and
        // the pool must not take an agent that holds it for empty and remove it).
        log.warn({ agent: status.assignedAgent }, "sandbox lost with its agent");
        return next(
          await this.#writeStatus(sandbox, {
            ...status,
            phase: SandboxPhase.Lost,
            conditions: this.#condition(
              status,
              SandboxCondition.Ready,
              "False",
              SandboxReason.AgentLost,
              `agent ${status.assignedAgent} stopped answering`,
            ),
          }),
        );
      case "revive":
        return next(
          await this.#writeStatus(sandbox, {
            ...status,
            phase: SandboxPhase.Running,
            conditions: this.#condition(
              status,
              SandboxCondition.Ready,
              "True",
              SandboxReason.Started,
              "agent is back",
            ),
          }),
        );
      case "recreate":
        // The old incarnation's slot goes; its container, if the agent ever shows it again, is an
        // orphan then (no object points at it) and is removed.
        this.#release(status);
        log.info({ recreations: (status.recreations ?? 0) + 1 }, "recreating sandbox");
        return next(
          await this.#writeStatus(sandbox, {
            ...unassigned(status),
            phase: SandboxPhase.Pending,
            recreations: (status.recreations ?? 0) + 1,
            conditions: this.#condition(
              status,
              SandboxCondition.Scheduled,
              "False",
              SandboxReason.Recreating,
              "recreating after a failure",
            ),
          }),
        );
      case "giveUp":
        return next(
          await this.#writeStatus(sandbox, {
            ...status,
            phase: SandboxPhase.Failed,
            conditions: this.#condition(
              status,
              SandboxCondition.Ready,
              "False",
              "RecoveryTimedOut",
              "could not be recreated within recoveryTimeoutSeconds",
            ),
          }),
        );
      case "reset": {
        const removal = await this.#remove(sandbox, { gracePeriodSeconds: graceOf(sandbox) }, log);
        if (removal.kind === "wait") return { requeueAfterMs: removal.retryAfterMs };
        log.info("resetting sandbox");
        return next(
          await this.#writeStatus(sandbox, {
            ...unassigned(status),
            phase: SandboxPhase.Pending,
            recreations: (status.recreations ?? 0) + 1,
            ...(sandbox.spec.resetRevision ? { acceptedResetRevision: sandbox.spec.resetRevision } : {}),
            conditions: this.#condition(
              status,
              SandboxCondition.Scheduled,
              "False",
              SandboxReason.Resetting,
              "reset requested",
            ),
          }),
        );
      }
      case "expire": {
        const removal = await this.#remove(
          sandbox,
          { gracePeriodSeconds: graceOf(sandbox), keepLog: true },
          log,
        );
        if (removal.kind === "wait") return { requeueAfterMs: removal.retryAfterMs };
        log.info("sandbox expired");
        return next(
          await this.#writeStatus(sandbox, {
            // A container left behind must not look owned: the object no longer points at it.
            ...(removal.kind === "left" ? unassigned(status) : status),
            phase: SandboxPhase.Expired,
            endpoints: [],
            conditions: this.#condition(
              status,
              SandboxCondition.Ready,
              "False",
              SandboxReason.Expired,
              "expireTime passed",
            ),
          }),
        );
      }
      case "cleanup": {
        if (status.phase !== SandboxPhase.Terminating) {
          sandbox = await this.#writeStatus(sandbox, { ...status, phase: SandboxPhase.Terminating });
        }
        const removal = await this.#remove(sandbox, { gracePeriodSeconds: graceOf(sandbox) }, log);
        if (removal.kind === "wait") return { requeueAfterMs: removal.retryAfterMs };
        if (status.sandboxID) this.#starter.forget(status.sandboxID);
        const finalizers = sandbox.metadata.finalizers.filter((f) => f !== SANDBOX_FINALIZER);
        await this.#o.store.update({ ...sandbox, metadata: { ...sandbox.metadata, finalizers } });
        log.info(removal.kind === "left" ? "sandbox deleted without its agent" : "sandbox deleted");
        return { sandbox: undefined };
      }
    }
  }

  async #schedule(sandbox: Sandbox): Promise<Step> {
    const status = sandbox.status ?? {};
    const sandboxId = newSandboxId(sandbox.metadata.name);
    const spec = sandbox.spec;
    let allocation: ReturnType<AgentRegistry["allocate"]>;
    try {
      allocation = allocateSandbox(
        this.#o.registry,
        { namespace: sandbox.metadata.namespace, name: sandbox.metadata.name, spec },
        sandboxId,
      );
    } catch (err) {
      const noRoom = isFsbError(err, ErrorCode.ResourceExhausted);
      if (!noRoom && !isFsbError(err, ErrorCode.FailedPrecondition)) throw err;
      // Room or the image may appear later (sandboxes end, images get loaded): stay Pending and look again.
      await this.#writeStatus(sandbox, {
        ...status,
        phase: SandboxPhase.Pending,
        conditions: this.#condition(
          status,
          SandboxCondition.Scheduled,
          "False",
          noRoom ? SandboxReason.NoCapacity : SandboxReason.ImageNotCached,
          err.message,
        ),
      });
      return { requeueAfterMs: noRoom ? NO_CAPACITY_RETRY_MS : IMAGE_RETRY_MS };
    }
    try {
      return next(
        await this.#writeStatus(sandbox, {
          ...status,
          phase: SandboxPhase.Bound,
          assignedAgent: allocation.agentId,
          nodeName: allocation.nodeName,
          sandboxID: sandboxId,
          endpoints: allocation.ports.map((p) => `${allocation.address}:${p}`),
          conditions: this.#condition(
            status,
            SandboxCondition.Scheduled,
            "True",
            SandboxReason.Allocated,
            `placed on agent ${allocation.agentId}`,
          ),
        }),
      );
    } catch (err) {
      this.#o.registry.release(sandboxId);
      throw err;
    }
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

  #condition(status: SandboxStatus, type: string, value: "True" | "False", reason: string, message: string) {
    return setCondition(status.conditions, { type, status: value, reason, message }, new Date(this.#now()));
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
    this.#o.onStatus?.(written, failure);
    return written;
  }
}

function graceOf(sandbox: Sandbox): number | undefined {
  const raw = sandbox.metadata.annotations[GRACE_ANNOTATION];
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isInteger(value) && value >= 0 ? value : undefined;
}

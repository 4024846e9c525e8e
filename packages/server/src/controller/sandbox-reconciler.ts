/** Drives one Sandbox towards its spec: plan a step, do it, record status; repeat until there is nothing to do. */
import {
  canonicalJson,
  ErrorCode,
  FsbError,
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
import { agentCreateRequest } from "./agent-request.ts";
import { setCondition } from "./conditions.ts";
import { allocateSandbox } from "./placement.ts";
import type { AgentRegistry } from "./registry/agent-registry.ts";
import { newSandboxId } from "./sandbox-id.ts";
import { planSandbox, type SandboxDecision } from "./sandbox-plan.ts";

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
  /** Called after every status write, so create calls waiting on a phase wake up at once. */
  onStatus?: (sandbox: Sandbox) => void;
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

  constructor(options: SandboxReconcilerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
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
        return this.#start(sandbox, log);
      case "fail": {
        await this.#removeContainer(sandbox, { gracePeriodSeconds: 0, keepLog: true }, { bestEffort: true });
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
        this.#release(status);
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
        await this.#removeContainer(sandbox, { gracePeriodSeconds: graceOf(sandbox) });
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
        await this.#removeContainer(sandbox, { gracePeriodSeconds: graceOf(sandbox), keepLog: true });
        log.info("sandbox expired");
        return next(
          await this.#writeStatus(sandbox, {
            ...status,
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
        await this.#removeContainer(sandbox, { gracePeriodSeconds: graceOf(sandbox) });
        const finalizers = sandbox.metadata.finalizers.filter((f) => f !== SANDBOX_FINALIZER);
        await this.#o.store.update({ ...sandbox, metadata: { ...sandbox.metadata, finalizers } });
        log.info("sandbox deleted");
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

  async #start(sandbox: Sandbox, log: Logger): Promise<Step> {
    const status = sandbox.status ?? {};
    const agentId = status.assignedAgent!;
    const sandboxId = status.sandboxID!;
    const client = this.#o.monitor.client(agentId);
    if (!client) return { requeueAfterMs: UNKNOWN_AGENT_RETRY_MS };
    // A slot for this id may be gone after a restart: take it again (idempotent if still held).
    if (!this.#o.registry.allocationOf(sandboxId)) {
      this.#o.registry.restore(sandboxId, { agentId, ports: sandbox.spec.exposedPorts ?? [] });
    }
    try {
      const created = await client.create(agentCreateRequest(sandbox, sandboxId));
      return next(
        await this.#writeStatus(sandbox, {
          ...status,
          phase: SandboxPhase.Running,
          startedAt: created.createdAt,
          endpoints: created.endpoints,
          conditions: this.#condition(status, SandboxCondition.Ready, "True", SandboxReason.Started, ""),
        }),
      );
    } catch (err) {
      const error = isFsbError(err) ? err : new FsbError(ErrorCode.Internal, String(err), { cause: err });
      this.#o.registry.release(sandboxId);
      // The request itself is wrong (a command not in the image, an image not on the node):
      // retrying cannot help, so the sandbox fails with the reason.
      const permanent =
        error.code === ErrorCode.InvalidArgument || error.code === ErrorCode.FailedPrecondition;
      log.warn({ err: error, agent: agentId, permanent }, "agent create failed");
      const failed: SandboxStatus = {
        ...unassigned(status),
        phase: permanent ? SandboxPhase.Failed : SandboxPhase.Pending,
        conditions: this.#condition(
          status,
          permanent ? SandboxCondition.Ready : SandboxCondition.Scheduled,
          "False",
          SandboxReason.AgentCreateFailed,
          error.message,
        ),
      };
      await this.#writeStatus(sandbox, failed);
      if (permanent) return { sandbox: undefined };
      throw error;
    }
  }

  /**
   * Removes the container through its agent. An agent that is unknown or unreachable means the
   * container may still exist, so this throws and the queue retries: the finalizer never goes early.
   */
  async #removeContainer(
    sandbox: Sandbox,
    options: { gracePeriodSeconds?: number; keepLog?: boolean },
    { bestEffort = false } = {},
  ): Promise<void> {
    const status = sandbox.status ?? {};
    if (!status.assignedAgent || !status.sandboxID) return;
    const client = this.#o.monitor.client(status.assignedAgent);
    try {
      if (!client) throw new FsbError(ErrorCode.Unavailable, `agent ${status.assignedAgent} is not known`);
      await client.delete(status.sandboxID, options);
      this.#o.registry.release(status.sandboxID);
    } catch (err) {
      if (!bestEffort) throw err;
      this.#o.registry.release(status.sandboxID);
    }
  }

  #release(status: SandboxStatus): void {
    if (status.sandboxID) this.#o.registry.release(status.sandboxID);
  }

  #condition(status: SandboxStatus, type: string, value: "True" | "False", reason: string, message: string) {
    return setCondition(status.conditions, { type, status: value, reason, message }, new Date(this.#now()));
  }

  /** Writes status only when it changed, stamping observedGeneration. */
  async #writeStatus(sandbox: Sandbox, status: SandboxStatus): Promise<Sandbox> {
    const desired = { ...status, observedGeneration: sandbox.metadata.generation };
    if (canonicalJson(desired) === canonicalJson(sandbox.status ?? {})) return sandbox;
    const written = await this.#o.store.updateStatus({ ...sandbox, status: desired });
    this.#o.onStatus?.(written);
    return written;
  }
}

type Step = { sandbox: Sandbox | undefined } | { requeueAfterMs: number };

function next(sandbox: Sandbox): Step {
  return { sandbox };
}

function unassigned(status: SandboxStatus): SandboxStatus {
  const {
    assignedAgent: _a,
    nodeName: _n,
    sandboxID: _s,
    endpoints: _e,
    startedAt: _t,
    exitCode: _x,
    ...rest
  } = status;
  return rest;
}

function graceOf(sandbox: Sandbox): number | undefined {
  const raw = sandbox.metadata.annotations[GRACE_ANNOTATION];
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isInteger(value) && value >= 0 ? value : undefined;
}

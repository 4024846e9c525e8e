/** Starts a Bound sandbox on its agent for the reconciler, moving it once to another agent when that is safe. */
import { ErrorCode, type FsbError, type Sandbox, SandboxReason, type SandboxStatus } from "@fast-sandbox/api";
import type { Logger } from "pino";
import { AgentCallError } from "../agent-call-error.ts";
import type { AgentMonitor } from "../agent-monitor.ts";
import { agentCreateRequest } from "../agent-request.ts";
import { agentHasNoContainer, apiErrorOfCreate, decideCreateRetry, isPortInUse } from "../create-failure.ts";
import { allocateSandbox } from "../placement.ts";
import type { AgentRegistry } from "../registry/agent-registry.ts";
import { newSandboxId } from "../sandbox-id.ts";
import { startTime } from "./created-at.ts";
import { createFailed, scheduled, started } from "./transitions.ts";

/** Retry delay when the assigned agent is not known yet (the controller just restarted). */
const UNKNOWN_AGENT_RETRY_MS = 500;
/** Retry delay while a declared port is in use on the node: whoever holds it has to stop first. */
const PORT_IN_USE_RETRY_MS = 5000;

/** What a reconcile step asks for: go on with this object (undefined: done), or look again later. */
export type Step = { sandbox: Sandbox | undefined } | { requeueAfterMs: number };

/** Goes on with the object just written. */
export function next(sandbox: Sandbox): Step {
  return { sandbox };
}

/** What the starter needs of the reconciler: its one status writer, and its clock. */
export interface SandboxStarterOptions {
  registry: AgentRegistry;
  monitor: AgentMonitor;
  writeStatus: (sandbox: Sandbox, status: SandboxStatus, failure?: FsbError) => Promise<Sandbox>;
  now: () => number;
}

/** The reconciler's "start" step; it remembers which sandbox ids are already a second attempt. */
export class SandboxStarter {
  readonly #o: SandboxStarterOptions;
  /** Sandbox ids that are already a second attempt on another agent: their failure is final. */
  readonly #retries = new Set<string>();

  constructor(options: SandboxStarterOptions) {
    this.#o = options;
  }

  /** Forgets a sandbox id (its object went). */
  forget(sandboxId: string): void {
    this.#retries.delete(sandboxId);
  }

  async start(sandbox: Sandbox, log: Logger): Promise<Step> {
    const status = sandbox.status ?? {};
    const agentId = status.assignedAgent!;
    const sandboxId = status.sandboxID!;
    const client = this.#o.monitor.client(agentId);
    // Not known yet (a restart): it may register any moment, until it counts as gone.
    if (!client && !this.#o.monitor.isGone(agentId)) return { requeueAfterMs: UNKNOWN_AGENT_RETRY_MS };
    // A slot for this id may be gone after a restart: take it again (idempotent if still held).
    if (!this.#o.registry.allocationOf(sandboxId)) {
      this.#o.registry.restore(sandboxId, { agentId, ports: sandbox.spec.exposedPorts ?? [] });
    }
    try {
      if (!client) {
        throw new AgentCallError(ErrorCode.Unavailable, `agent ${agentId} is gone`, { delivery: "not-sent" });
      }
      const created = await client.create(agentCreateRequest(sandbox, sandboxId));
      this.#retries.delete(sandboxId);
      const at = startTime(sandbox, this.#o.now());
      return next(await this.#o.writeStatus(sandbox, started(status, created, at)));
    } catch (err) {
      return this.#startFailed(sandbox, err, log);
    }
  }

  /**
   * After a failed agent create: once, when the first agent provably has no container, the sandbox
   * moves to another agent at once (the same rule as fast mode, create-failure.ts). Otherwise a
   * request error fails it for good and anything else leaves it Pending for the queue to retry.
   */
  async #startFailed(sandbox: Sandbox, err: unknown, log: Logger): Promise<Step> {
    const status = sandbox.status ?? {};
    const agentId = status.assignedAgent!;
    const sandboxId = status.sandboxID!;
    const attempt = this.#retries.delete(sandboxId) ? 2 : 1;
    let decision = decideCreateRetry(err, attempt);
    if (decision === "verifyThenRetry") {
      decision = (await agentHasNoContainer(this.#o.monitor.client(agentId), sandboxId))
        ? "retryElsewhere"
        : "giveUp";
    }
    this.#o.registry.release(sandboxId);
    const error = apiErrorOfCreate(err, agentId);
    if (isPortInUse(error)) {
      // Not the request's fault, and not for good: Pending, with the reason, until the port is free.
      log.warn({ err, agent: agentId }, "a declared port is in use on the agent's node");
      const busy = createFailed(status, error.message, false, this.#o.now(), SandboxReason.PortInUse);
      await this.#o.writeStatus(sandbox, busy, error);
      return { requeueAfterMs: PORT_IN_USE_RETRY_MS };
    }
    if (decision === "retryElsewhere") {
      const moved = await this.#placeElsewhere(sandbox, agentId, error, log);
      if (moved) return moved;
    }
    // The request itself is wrong (a command not in the image, an image not on the node):
    // retrying cannot help, so the sandbox fails with the reason.
    const permanent = error.code === ErrorCode.InvalidArgument || error.code === ErrorCode.FailedPrecondition;
    log.warn({ err, agent: agentId, permanent }, "agent create failed");
    await this.#o.writeStatus(sandbox, createFailed(status, error.message, permanent, this.#o.now()), error);
    if (permanent) return { sandbox: undefined };
    throw error;
  }

  /** Places the sandbox on another agent under a fresh id, or answers undefined when none has room. */
  async #placeElsewhere(
    sandbox: Sandbox,
    failedAgent: string,
    error: FsbError,
    log: Logger,
  ): Promise<Step | undefined> {
    const status = sandbox.status ?? {};
    const sandboxId = newSandboxId(sandbox.metadata.name);
    let allocation: ReturnType<AgentRegistry["allocate"]>;
    try {
      allocation = allocateSandbox(
        this.#o.registry,
        { namespace: sandbox.metadata.namespace, name: sandbox.metadata.name, spec: sandbox.spec },
        sandboxId,
        { avoidAgents: [failedAgent] },
      );
    } catch {
      return undefined;
    }
    log.warn(
      { err: error, agent: failedAgent, to: allocation.agentId },
      "agent create failed; trying another agent",
    );
    this.#retries.add(sandboxId);
    try {
      const moved = scheduled(status, { sandboxId, allocation }, this.#o.now(), {
        agentId: failedAgent,
        error: error.message,
      });
      return next(await this.#o.writeStatus(sandbox, moved));
    } catch (err) {
      this.#retries.delete(sandboxId);
      this.#o.registry.release(sandboxId);
      throw err;
    }
  }
}

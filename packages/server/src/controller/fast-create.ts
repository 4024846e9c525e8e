/** Fast mode's create (design §7): start the container on an agent, retrying once on another when safe. */
import {
  API_VERSION,
  ErrorCode,
  SANDBOX_FINALIZER,
  type Sandbox,
  SandboxPhase,
  SandboxReason,
  type SandboxSpec,
} from "@fast-sandbox/api";
import type { Logger } from "pino";
import { AgentCallError } from "./agent-call-error.ts";
import type { AgentMonitor } from "./agent-monitor.ts";
import { agentCreateRequest } from "./agent-request.ts";
import { setCondition } from "./conditions.ts";
import { agentHasNoContainer, apiErrorOfCreate, decideCreateRetry } from "./create-failure.ts";
import { allocateSandbox } from "./placement.ts";
import type { AgentRegistry, Allocation } from "./registry/agent-registry.ts";
import { newSandboxId } from "./sandbox-id.ts";
import { SANDBOX_KIND } from "./sandbox-reconciler.ts";

/** The object a fast create answers with, Bound to its allocation until the agent has started it. */
export function boundSandbox(
  target: { namespace: string; name: string; labels: Record<string, string>; spec: SandboxSpec },
  sandboxId: string,
  allocation: Allocation,
  now: Date,
): Sandbox {
  return {
    apiVersion: API_VERSION,
    kind: SANDBOX_KIND,
    metadata: {
      name: target.name,
      namespace: target.namespace,
      uid: "",
      resourceVersion: "",
      generation: 1,
      creationTimestamp: now.toISOString(),
      labels: target.labels,
      annotations: {},
      finalizers: [SANDBOX_FINALIZER],
    },
    spec: target.spec,
    status: boundStatus(sandboxId, allocation, `placed on agent ${allocation.agentId}`, now),
  };
}

function boundStatus(
  sandboxId: string,
  allocation: Allocation,
  message: string,
  now: Date,
): Sandbox["status"] {
  return {
    phase: SandboxPhase.Bound,
    assignedAgent: allocation.agentId,
    nodeName: allocation.nodeName,
    sandboxID: sandboxId,
    endpoints: allocation.ports.map((p) => `${allocation.address}:${p}`),
    observedGeneration: 1,
    conditions: setCondition(
      [],
      { type: "Scheduled", status: "True", reason: SandboxReason.Allocated, message },
      now,
    ),
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
      const now = new Date(o.now());
      sandbox.status = {
        ...sandbox.status,
        phase: SandboxPhase.Running,
        startedAt: created.createdAt,
        endpoints: created.endpoints,
        conditions: setCondition(
          sandbox.status.conditions,
          { type: "Ready", status: "True", reason: SandboxReason.Started, message: "" },
          now,
        ),
      };
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
      sandbox.status = boundStatus(
        next.sandboxId,
        next.allocation,
        `placed on agent ${next.allocation.agentId} after agent ${agentId} failed: ${error.message}`,
        new Date(o.now()),
      );
    }
  }
}

/** A slot on any other agent, now (no waiting: the first agent's error is the answer otherwise). */
function placeElsewhere(
  o: StartOptions,
  sandbox: Sandbox,
  failedAgent: string,
): { sandboxId: string; allocation: Allocation } | undefined {
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

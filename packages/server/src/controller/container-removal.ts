/** Removes a sandbox's container through its agent, or, once that agent is gone, leaves it to the janitor. */
import type { SandboxStatus } from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { AgentApi } from "./agent-api.ts";
import { AgentCallError } from "./agent-call-error.ts";

/** While the agent is unreachable but not yet gone, a removal is tried again this often. */
const UNREACHABLE_RETRY_MS = 1000;

/**
 * `removed`: the agent removed it (or had nothing by that id). `left`: the agent is gone, so the
 * slot and ports are freed without it; the janitor removes the container if it ever shows up (its
 * Sandbox object is gone or points at another incarnation). `wait`: the agent may come back; try
 * again after `retryAfterMs`.
 */
export type Removal = { kind: "removed" } | { kind: "left" } | { kind: "wait"; retryAfterMs: number };

/** What removal needs of the agent monitor. */
export interface RemovalAgents {
  isGone(agentId: string): boolean;
  untilGone(agentId: string): number | undefined;
  client(agentId: string): AgentApi | undefined;
  aliveSignal(agentId: string): AbortSignal | undefined;
}

export interface RemovalDeps {
  agents: RemovalAgents;
  /** Frees the slot and ports held under the sandbox id. */
  release: (sandboxId: string) => void;
  logger: Logger;
}

/**
 * The container of `status` goes through its agent. An agent that is unknown or unreachable may
 * still hold it, so the removal waits, but only until the agent counts as gone (lost by the loss
 * rule, or unknown for the loss timeout): then waiting could last forever, and the container is
 * left to the janitor instead. A removal in flight is cut short the moment the agent is declared lost.
 */
export async function removeContainer(
  deps: RemovalDeps,
  status: SandboxStatus,
  options: { gracePeriodSeconds?: number; keepLog?: boolean },
): Promise<Removal> {
  const { assignedAgent: agentId, sandboxID: sandboxId } = status;
  if (!agentId || !sandboxId) return { kind: "removed" };
  const leave = (): Removal => {
    deps.release(sandboxId);
    deps.logger.warn(
      { agent: agentId, sandboxId },
      "the sandbox's agent is gone; its container, if it still exists, is left to the janitor",
    );
    return { kind: "left" };
  };
  if (deps.agents.isGone(agentId)) return leave();
  const client = deps.agents.client(agentId);
  if (!client) return { kind: "wait", retryAfterMs: Math.max(1, deps.agents.untilGone(agentId) ?? 0) };
  try {
    await client.delete(sandboxId, options, deps.agents.aliveSignal(agentId));
    deps.release(sandboxId);
    return { kind: "removed" };
  } catch (err) {
    // The agent answered with an error of its own: that is a real failure, retried with backoff.
    if (err instanceof AgentCallError && err.delivery === "answered") throw err;
    if (deps.agents.isGone(agentId)) return leave();
    return { kind: "wait", retryAfterMs: UNREACHABLE_RETRY_MS };
  }
}

/** The bodies the agent's HTTP API answers with: the other half of its wire contract (agent-requests.ts). */
import type { PrewarmStatus } from "./prewarm-status.ts";
import type { ExitReason, SandboxStatus } from "./sandbox-record.ts";

/**
 * One sandbox as the agent reports it: its {@link SandboxStatus} with times in RFC 3339, absent
 * values as null, and the task state as plain text (a client must take states it does not know).
 */
export type AgentSandboxView = Omit<
  SandboxStatus,
  "taskState" | "exitCode" | "exitedAt" | "exitReason" | "createdAt"
> & {
  taskState: string;
  exitCode: number | null;
  exitedAt: string | null;
  exitReason: ExitReason | null;
  createdAt: string;
};

/** `POST /api/v1/agent/create`: the sandbox, and whether a prewarmed container served it. */
export interface AgentCreateResponse extends AgentSandboxView {
  success: true;
  agentId: string;
  nodeName: string;
  prewarmed: boolean;
}

/** `POST /api/v1/agent/delete`. */
export interface AgentDeleteResponse {
  success: true;
  sandboxId: string;
}

/** `GET /api/v1/agent/status`: answered from memory, so it comes even while containerd is slow. */
export interface AgentStatusView {
  agentId: string;
  nodeName: string;
  pool: string;
  runtime: string;
  address: string;
  capacity: number;
  allocated: number;
  images: readonly string[];
  sandboxes: AgentSandboxView[];
  /** Prewarmed containers; absent from agents that predate prewarming. */
  prewarm?: PrewarmStatus;
  /** Changes whenever the sandbox set or a sandbox's phase changes; absent from older agents. */
  revision?: number;
  /**
   * When the agent read this status (RFC 3339, the agent's clock, the clock that also stamps each
   * sandbox's `createdAt`); absent from older agents.
   */
  takenAt?: string;
}

/** `PUT /api/v1/agent/prewarm`: the prewarm status after the new set was taken. */
export interface AgentPrewarmResponse {
  success: true;
  prewarm: PrewarmStatus;
}

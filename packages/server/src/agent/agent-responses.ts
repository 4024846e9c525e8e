/** The bodies the agent's HTTP API answers with: the other half of its wire contract (agent-requests.ts). */
import type { PrewarmStatus } from "./prewarm-status.ts";
import type { ExitReason } from "./sandbox-record.ts";
import type { AgentSandboxPhase } from "./sandbox-spec.ts";

/** One sandbox as the agent reports it (times in RFC 3339, absent values as null). */
export interface AgentSandboxView {
  sandboxId: string;
  /** The containerd container: the sandbox id, or a prewarmed container's own id. */
  containerId: string;
  name: string;
  namespace: string;
  uid: string;
  pool: string;
  image: string;
  phase: AgentSandboxPhase;
  taskState: string;
  pid: number;
  exitCode: number | null;
  exitedAt: string | null;
  exitReason: ExitReason | null;
  createdAt: string;
  endpoints: string[];
}

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
}

/** `PUT /api/v1/agent/prewarm`: the prewarm status after the new set was taken. */
export interface AgentPrewarmResponse {
  success: true;
  prewarm: PrewarmStatus;
}

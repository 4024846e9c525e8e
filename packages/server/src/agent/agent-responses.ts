/** The bodies the agent's HTTP API answers with: the other half of its wire contract (agent-requests.ts). */
import type { NetworkModeName } from "@fast-sandbox/api";
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
  /** The mode of sandboxes whose create names none; absent from agents that predate network modes (mode agent). */
  networkMode?: NetworkModeName;
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

/** `{ success: true }`: the answer of the unary process routes (input, close-input, resize, signal). */
export interface AgentSuccessResponse {
  success: true;
}

/** How an exec'd process ended. `signal` names the signal that killed it ("" if none); exitCode is then 128 + n. */
export interface AgentProcessExit {
  exitCode: number;
  signal: string;
  timedOut: boolean;
}

/**
 * One line of the NDJSON stream of `POST /api/v1/agent/exec` and `/processes/attach`: `started` first,
 * then output (base64) and `dropped` (bytes lost while nobody read), then `exit` or `error` last.
 */
export type AgentExecEvent =
  | { started: { processId: string; pid: number } }
  | { stdout: string }
  | { stderr: string }
  | { dropped: number }
  | { exit: AgentProcessExit }
  | { error: { code: string; message: string } };

/** One process of `GET /api/v1/agent/processes`. */
export interface AgentProcessView {
  processId: string;
  pid: number;
  command: string[];
  tty: boolean;
  startedAt: string;
  running: boolean;
  exitCode: number | null;
  signal: string;
}

/** `GET /api/v1/agent/processes`: the sandbox's processes, running and recently exited. */
export interface AgentProcessList {
  processes: AgentProcessView[];
}

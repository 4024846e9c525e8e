/** What the controller asks of one agent: the agent's HTTP API as an interface, in the agent's own wire types. */
import type {
  AgentCreateRequest,
  AgentDeleteOptions,
  AgentPrewarmTemplate,
} from "../agent/agent-requests.ts";
import type { AgentCreateResponse, AgentPrewarmResponse, AgentStatusView } from "../agent/agent-responses.ts";
import type { AgentProcessApi } from "./process/agent-process-api.ts";

export type {
  AgentCreateRequest,
  AgentDeleteOptions,
  AgentPrewarmTemplate,
} from "../agent/agent-requests.ts";
export type {
  AgentCreateResponse,
  AgentPrewarmResponse,
  AgentSandboxView,
  AgentStatusView,
} from "../agent/agent-responses.ts";

/**
 * One agent, as the reconciler, the fast path and the pool controller use it. AgentClient speaks
 * it over HTTP; tests use an in-memory agent. The process routes are AgentProcessApi's. Failures are AgentCallErrors, which say whether the
 * agent can have acted (agent-call-error.ts).
 */
export interface AgentApi extends AgentProcessApi {
  /** Creates and starts the sandbox; idempotent for the same sandbox id and spec. */
  create(sandbox: AgentCreateRequest, signal?: AbortSignal): Promise<AgentCreateResponse>;
  /** Removes the sandbox; an unknown id is success. */
  delete(sandboxId: string, options?: AgentDeleteOptions, signal?: AbortSignal): Promise<void>;
  /** What the agent runs, its images, capacity and prewarm state. */
  status(signal?: AbortSignal, timeoutMs?: number): Promise<AgentStatusView>;
  /** Replaces the agent's prewarm templates (the whole desired set). */
  setPrewarm(templates: AgentPrewarmTemplate[], signal?: AbortSignal): Promise<AgentPrewarmResponse>;
  /** The sandbox's output; the caller cancels the stream (or aborts `signal`) to stop. */
  logs(
    sandboxId: string,
    follow: boolean,
    signal: AbortSignal,
    tailLines?: number,
  ): Promise<ReadableStream<Uint8Array>>;
}

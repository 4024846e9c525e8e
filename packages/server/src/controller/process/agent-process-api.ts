/** What the controller asks of an agent about processes: the agent's process routes (docs/agent-api.md) as an interface. */
import type { ExecSpec, ProcessSignalName } from "@fast-sandbox/api";
import type { AgentProcessView } from "../../agent/agent-responses.ts";

export type { AgentProcessView } from "../../agent/agent-responses.ts";

/**
 * The process half of an agent's API. Exec and attach answer an NDJSON stream (read it with
 * execEvents, exec-events.ts); the caller cancels it (or aborts `signal`) to stop reading, which
 * leaves the process running. Failures are AgentCallErrors, as for the rest of AgentApi.
 */
export interface AgentProcessApi {
  exec(sandboxId: string, spec: ExecSpec, signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  attachProcess(
    sandboxId: string,
    processId: string,
    signal: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>>;
  sendInput(sandboxId: string, processId: string, data: Uint8Array, signal?: AbortSignal): Promise<void>;
  closeInput(sandboxId: string, processId: string, signal?: AbortSignal): Promise<void>;
  resizePty(
    sandboxId: string,
    processId: string,
    size: { cols: number; rows: number },
    signal?: AbortSignal,
  ): Promise<void>;
  signalProcess(
    sandboxId: string,
    processId: string,
    processSignal: ProcessSignalName | number,
    signal?: AbortSignal,
  ): Promise<void>;
  listProcesses(sandboxId: string, signal?: AbortSignal): Promise<AgentProcessView[]>;
}

/** Processes in sandboxes, in domain terms: find the sandbox, check it runs, and route the call to its agent. */
import type { ExecSpec, ProcessSignalName, Sandbox } from "@fast-sandbox/api";
import { runningSandbox, unreachableAgent } from "../running-sandbox.ts";
import type { AgentProcessApi, AgentProcessView } from "./agent-process-api.ts";
import { type ExecStreamEvent, execEvents } from "./exec-events.ts";

/** Which sandbox a call is about, as the request names it. */
export interface ProcessTarget {
  namespace: string;
  name: string;
}

export interface SandboxProcessesOptions {
  /** Reads a sandbox (NOT_FOUND when it does not exist); the fast path's get. */
  getSandbox(namespace: string, name: string): Promise<Sandbox>;
  /** The API of a registered agent; undefined when it is not registered. */
  agent(agentId: string): AgentProcessApi | undefined;
}

/** The agent that runs a sandbox, and the sandbox's id there. */
interface Placement {
  agent: AgentProcessApi;
  agentId: string;
  sandboxId: string;
}

/**
 * The Process API's logic. Every call re-reads the sandbox, so a process is only ever started in a
 * sandbox that is Running on its current container; the agent answers for the processes themselves
 * (unknown process ids, exited processes, its cap on processes per sandbox).
 */
export class SandboxProcesses {
  readonly #o: SandboxProcessesOptions;

  constructor(options: SandboxProcessesOptions) {
    this.#o = options;
  }

  /** Starts a process; its events end after `exited`. Stopping the iteration leaves the process running. */
  async *exec(target: ProcessTarget, spec: ExecSpec, signal: AbortSignal): AsyncGenerator<ExecStreamEvent> {
    const { agent, agentId, sandboxId } = await this.#placement(target);
    yield* execEvents(await agent.exec(sandboxId, spec, signal), agentId);
  }

  /** A running (or recently exited) process's events again, from what its agent kept. */
  async *attach(
    target: ProcessTarget,
    processId: string,
    signal: AbortSignal,
  ): AsyncGenerator<ExecStreamEvent> {
    const { agent, agentId, sandboxId } = await this.#placement(target);
    yield* execEvents(await agent.attachProcess(sandboxId, processId, signal), agentId);
  }

  async sendInput(
    target: ProcessTarget,
    processId: string,
    data: Uint8Array,
    signal?: AbortSignal,
  ): Promise<void> {
    const { agent, sandboxId } = await this.#placement(target);
    await agent.sendInput(sandboxId, processId, data, signal);
  }

  async closeInput(target: ProcessTarget, processId: string, signal?: AbortSignal): Promise<void> {
    const { agent, sandboxId } = await this.#placement(target);
    await agent.closeInput(sandboxId, processId, signal);
  }

  async resizePty(
    target: ProcessTarget,
    processId: string,
    size: { cols: number; rows: number },
    signal?: AbortSignal,
  ): Promise<void> {
    const { agent, sandboxId } = await this.#placement(target);
    await agent.resizePty(sandboxId, processId, size, signal);
  }

  async signalProcess(
    target: ProcessTarget,
    processId: string,
    processSignal: ProcessSignalName | number,
    signal?: AbortSignal,
  ): Promise<void> {
    const { agent, sandboxId } = await this.#placement(target);
    await agent.signalProcess(sandboxId, processId, processSignal, signal);
  }

  async list(target: ProcessTarget, signal?: AbortSignal): Promise<AgentProcessView[]> {
    const { agent, sandboxId } = await this.#placement(target);
    return agent.listProcesses(sandboxId, signal);
  }

  async #placement(target: ProcessTarget): Promise<Placement> {
    const sandbox = await this.#o.getSandbox(target.namespace, target.name);
    const placed = runningSandbox(sandbox, "processes run only in a Running sandbox");
    const agent = this.#o.agent(placed.agentId);
    if (!agent) throw unreachableAgent(placed);
    return { agent, agentId: placed.agentId, sandboxId: placed.sandboxId };
  }
}

/** An agent in memory, for unit tests of the controller: the AgentApi contract with no process, network or containerd. */
import { ErrorCode, FsbError, normalizeImageName, prewarmKey } from "@fast-sandbox/api";
import type {
  AgentApi,
  AgentCreateRequest,
  AgentCreateResponse,
  AgentDeleteOptions,
  AgentPrewarmResponse,
  AgentPrewarmTemplate,
  AgentSandboxView,
  AgentStatusView,
} from "./agent-api.ts";
import { AgentCallError } from "./agent-call-error.ts";
import { MemoryProcesses } from "./process/memory-processes.ts";

/** Who the agent is, as its status reports it. */
export interface MemoryAgentOptions {
  agentId: string;
  address: string;
  nodeName?: string;
  pool?: string;
  capacity?: number;
  images?: string[];
  now: () => number;
}

/**
 * Creates run at once, deletes forget the sandbox, the status lists what runs. A test makes the
 * next create fail with `failCreates`, and makes a container exit or vanish with `exit`/`vanish`.
 */
export class MemoryAgent implements AgentApi {
  readonly options: MemoryAgentOptions;
  readonly sandboxes = new Map<string, AgentSandboxView>();
  /** Every call by name and sandbox id (or template count), in order. */
  readonly calls: string[] = [];
  /** Errors the next creates throw, first one first. */
  failCreates: Error[] = [];
  prewarm: AgentPrewarmTemplate[] = [];
  /** The processes started in its sandboxes; the process routes below are its. */
  readonly processes = new MemoryProcesses((id) => this.sandboxes.get(id)?.phase === "Running");
  readonly exec = this.processes.exec.bind(this.processes);
  readonly attachProcess = this.processes.attachProcess.bind(this.processes);
  readonly sendInput = this.processes.sendInput.bind(this.processes);
  readonly closeInput = this.processes.closeInput.bind(this.processes);
  readonly resizePty = this.processes.resizePty.bind(this.processes);
  readonly signalProcess = this.processes.signalProcess.bind(this.processes);
  readonly listProcesses = this.processes.listProcesses.bind(this.processes);
  #revision = 0;

  constructor(options: MemoryAgentOptions) {
    this.options = options;
  }

  async create(sandbox: AgentCreateRequest): Promise<AgentCreateResponse> {
    this.calls.push(`create ${sandbox.sandboxId}`);
    const failure = this.failCreates.shift();
    if (failure) throw failure;
    const existing = this.sandboxes.get(sandbox.sandboxId);
    const view = existing ?? this.#view(sandbox);
    this.sandboxes.set(view.sandboxId, view);
    this.#revision++;
    return {
      success: true,
      agentId: this.options.agentId,
      nodeName: this.#nodeName,
      ...view,
      prewarmed: false,
    };
  }

  async delete(sandboxId: string, _options?: AgentDeleteOptions): Promise<void> {
    this.calls.push(`delete ${sandboxId}`);
    if (this.sandboxes.delete(sandboxId)) this.#revision++;
  }

  async status(): Promise<AgentStatusView> {
    return {
      agentId: this.options.agentId,
      nodeName: this.#nodeName,
      pool: this.options.pool ?? "default-pool",
      runtime: "container",
      address: this.options.address,
      capacity: this.options.capacity ?? 4,
      allocated: this.sandboxes.size,
      images: (this.options.images ?? ["busybox:latest"]).map((i) => normalizeImageName(i, "image")),
      sandboxes: [...this.sandboxes.values()],
      prewarm: {
        limit: 8,
        templates: this.prewarm.map((t) => ({
          key: prewarmKey(t),
          image: t.image,
          count: t.count,
          ready: t.count,
        })),
      },
      revision: this.#revision,
      takenAt: this.#iso(),
    };
  }

  async setPrewarm(templates: AgentPrewarmTemplate[]): Promise<AgentPrewarmResponse> {
    this.calls.push(`prewarm ${templates.map((t) => t.count).join(",")}`);
    this.prewarm = templates;
    const { prewarm } = await this.status();
    return { success: true, prewarm: prewarm ?? { limit: 8, templates: [] } };
  }

  async logs(): Promise<ReadableStream<Uint8Array>> {
    return new ReadableStream({ start: (c) => c.close() });
  }

  /** The container's process ends with `exitCode`. */
  exit(sandboxId: string, exitCode: number): void {
    const view = this.sandboxes.get(sandboxId);
    if (!view) throw new FsbError(ErrorCode.NotFound, `no sandbox ${sandboxId}`);
    this.sandboxes.set(sandboxId, { ...view, phase: "Exited", exitCode, exitedAt: this.#iso() });
    this.#revision++;
  }

  /** The container disappears from the agent without a delete. */
  vanish(sandboxId: string): void {
    this.sandboxes.delete(sandboxId);
    this.#revision++;
  }

  get #nodeName(): string {
    return this.options.nodeName ?? `node-${this.options.agentId}`;
  }

  #iso(): string {
    return new Date(this.options.now()).toISOString();
  }

  #view(sandbox: AgentCreateRequest): AgentSandboxView {
    return {
      sandboxId: sandbox.sandboxId,
      containerId: sandbox.sandboxId,
      name: sandbox.name,
      namespace: sandbox.namespace ?? "default",
      uid: sandbox.uid ?? "",
      pool: sandbox.pool ?? this.options.pool ?? "default-pool",
      image: sandbox.image,
      phase: "Running",
      taskState: "running",
      pid: 1000 + this.sandboxes.size,
      exitCode: null,
      exitedAt: null,
      exitReason: null,
      createdAt: this.#iso(),
      endpoints: (sandbox.exposedPorts ?? []).map((p) => `${this.options.address}:${p}`),
    };
  }
}

/** An agent error as the HTTP client reports one: answered (it rolled back), or never sent. */
export function agentError(code: ErrorCode, message: string, delivery: "answered" | "not-sent" = "answered") {
  return new AgentCallError(code, message, { delivery });
}

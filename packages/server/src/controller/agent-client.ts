/** The controller's client for the agent HTTP API (docs/agent-api.md): errors come back as AgentCallErrors. */
import { ErrorCode, type ExecSpec, isErrorCode, type ProcessSignalName } from "@fast-sandbox/api";
import type {
  AgentApi,
  AgentCreateRequest,
  AgentCreateResponse,
  AgentDeleteOptions,
  AgentPrewarmResponse,
  AgentPrewarmTemplate,
  AgentStatusView,
} from "./agent-api.ts";
import { AgentCallError, deliveryOfFetchError } from "./agent-call-error.ts";
import type { AgentProcessView } from "./process/agent-process-api.ts";

/** Bounds a create: containerd's create+start is ~70 ms; seconds mean the node is in trouble. */
const CREATE_TIMEOUT_MS = 30_000;
const STATUS_TIMEOUT_MS = 5000;
/** Deletes include the grace period, so their timeout is that plus this margin. */
const DELETE_MARGIN_MS = 15_000;
/** Input, resize, signal and list are bookkeeping on the agent: a second means it is in trouble. */
const PROCESS_CALL_TIMEOUT_MS = 10_000;

/** Talks to one agent. Connections are kept alive by fetch's pool, so calls cost one round trip. */
export class AgentClient implements AgentApi {
  readonly url: string;
  readonly #token: string | undefined;

  constructor(url: string, token: string | undefined) {
    this.url = agentBaseUrl(url);
    this.#token = token;
  }

  async create(sandbox: AgentCreateRequest, signal?: AbortSignal): Promise<AgentCreateResponse> {
    return this.#call("POST", "/api/v1/agent/create", { sandbox }, CREATE_TIMEOUT_MS, signal);
  }

  async delete(sandboxId: string, options: AgentDeleteOptions = {}, signal?: AbortSignal): Promise<void> {
    const timeout = (options.gracePeriodSeconds ?? 10) * 1000 + DELETE_MARGIN_MS;
    await this.#call("POST", "/api/v1/agent/delete", { sandboxId, ...options }, timeout, signal);
  }

  async status(signal?: AbortSignal, timeoutMs = STATUS_TIMEOUT_MS): Promise<AgentStatusView> {
    return this.#call("GET", "/api/v1/agent/status", undefined, timeoutMs, signal);
  }

  /** Replaces the agent's prewarm templates (the whole desired set); answers its prewarm status. */
  async setPrewarm(templates: AgentPrewarmTemplate[], signal?: AbortSignal): Promise<AgentPrewarmResponse> {
    return this.#call("PUT", "/api/v1/agent/prewarm", { templates }, STATUS_TIMEOUT_MS, signal);
  }

  /** The log stream as a web ReadableStream; the caller cancels it (or aborts `signal`) to stop. */
  async logs(
    sandboxId: string,
    follow: boolean,
    signal: AbortSignal,
    tailLines?: number,
  ): Promise<ReadableStream<Uint8Array>> {
    const query = new URLSearchParams({ sandboxId, follow: String(follow) });
    if (tailLines !== undefined) query.set("tailLines", String(tailLines));
    const res = await this.#fetch("GET", `/api/v1/agent/logs?${query}`, undefined, signal);
    if (!res.ok) throw await errorFrom(res, this.url);
    if (!res.body) return new ReadableStream({ start: (c) => c.close() });
    return res.body;
  }

  /** Starts a process; its NDJSON event stream (exec-events.ts). Cancelling it leaves the process running. */
  async exec(sandboxId: string, spec: ExecSpec, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    return this.#stream("/api/v1/agent/exec", { sandboxId, ...spec }, signal);
  }

  async attachProcess(
    sandboxId: string,
    processId: string,
    signal: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>> {
    return this.#stream("/api/v1/agent/processes/attach", { sandboxId, processId }, signal);
  }

  async sendInput(
    sandboxId: string,
    processId: string,
    data: Uint8Array,
    signal?: AbortSignal,
  ): Promise<void> {
    const body = { sandboxId, processId, data: Buffer.from(data).toString("base64") };
    await this.#call("POST", "/api/v1/agent/processes/input", body, PROCESS_CALL_TIMEOUT_MS, signal);
  }

  async closeInput(sandboxId: string, processId: string, signal?: AbortSignal): Promise<void> {
    const body = { sandboxId, processId };
    await this.#call("POST", "/api/v1/agent/processes/close-input", body, PROCESS_CALL_TIMEOUT_MS, signal);
  }

  async resizePty(
    sandboxId: string,
    processId: string,
    size: { cols: number; rows: number },
    signal?: AbortSignal,
  ): Promise<void> {
    const body = { sandboxId, processId, ...size };
    await this.#call("POST", "/api/v1/agent/processes/resize", body, PROCESS_CALL_TIMEOUT_MS, signal);
  }

  async signalProcess(
    sandboxId: string,
    processId: string,
    processSignal: ProcessSignalName | number,
    signal?: AbortSignal,
  ): Promise<void> {
    const body = { sandboxId, processId, signal: processSignal };
    await this.#call("POST", "/api/v1/agent/processes/signal", body, PROCESS_CALL_TIMEOUT_MS, signal);
  }

  async listProcesses(sandboxId: string, signal?: AbortSignal): Promise<AgentProcessView[]> {
    const route = `/api/v1/agent/processes?${new URLSearchParams({ sandboxId })}`;
    const res = await this.#call<{ processes: AgentProcessView[] }>(
      "GET",
      route,
      undefined,
      PROCESS_CALL_TIMEOUT_MS,
      signal,
    );
    return res.processes;
  }

  /** A POST whose answer is a stream: no timeout (it lasts as long as the process), only `signal`. */
  async #stream(route: string, body: unknown, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const res = await this.#fetch("POST", route, body, signal);
    if (!res.ok) throw await errorFrom(res, this.url);
    if (!res.body) return new ReadableStream({ start: (c) => c.close() });
    return res.body;
  }

  async #call<T>(
    method: string,
    route: string,
    body: unknown,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<T> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const res = await this.#fetch(method, route, body, signal ? AbortSignal.any([signal, timeout]) : timeout);
    if (!res.ok) throw await errorFrom(res, this.url);
    try {
      return (await res.json()) as T;
    } catch (err) {
      // It answered success, so the call took effect; only its body is unreadable.
      throw new AgentCallError(
        ErrorCode.Unavailable,
        `agent ${this.url} answered ${method} ${route.split("?")[0]} with a body that is not JSON`,
        { delivery: "unknown", cause: err },
      );
    }
  }

  async #fetch(method: string, route: string, body: unknown, signal: AbortSignal): Promise<Response> {
    try {
      return await fetch(`${this.url}${route}`, {
        method,
        headers: {
          ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal,
      });
    } catch (err) {
      const timedOut = (err as Error).name === "TimeoutError";
      const delivery = timedOut ? "unknown" : deliveryOfFetchError(err);
      throw new AgentCallError(
        timedOut ? ErrorCode.DeadlineExceeded : ErrorCode.Unavailable,
        `agent ${this.url} ${timedOut ? "did not answer in time" : delivery === "not-sent" ? "is unreachable" : "broke off the call"} (${method} ${route.split("?")[0]})`,
        { delivery, cause: err },
      );
    }
  }
}

/** An agent's URL as calls are made to it: without trailing slashes. */
export function agentBaseUrl(url: string): string {
  return url.replace(/\/+$/, "");
}

/** Rebuilds the agent's error (code, message, field) from its JSON body. */
export async function errorFrom(res: Response, url: string): Promise<AgentCallError> {
  const text = await res.text().catch(() => "");
  let error: { code?: unknown; message?: unknown; field?: unknown } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    // not our JSON (a proxy?): fall through
  }
  if (error && isErrorCode(error.code)) {
    const field = typeof error.field === "string" ? error.field : undefined;
    const message = typeof error.message === "string" ? error.message : "";
    return new AgentCallError(error.code, message, { delivery: "answered", ...(field ? { field } : {}) });
  }
  const code = res.status === 401 ? ErrorCode.Unauthenticated : ErrorCode.Unavailable;
  return new AgentCallError(code, `agent ${url} answered HTTP ${res.status}: ${text.slice(0, 200)}`, {
    // Not our error body (a proxy in between?): whether the agent acted is not known.
    delivery: "unknown",
  });
}

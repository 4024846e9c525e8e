/** Ownership read from the controller's API: every Sandbox (ListSandboxes, all namespaces) and GET /api/v1/agents. */
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { FastSandbox } from "@fast-sandbox/sdk";
import { Ownership, type OwnershipSource } from "./ownership.ts";

/** The controller answers both reads from memory; a slower answer means it is in trouble. */
const DEFAULT_READ_TIMEOUT_MS = 10_000;
const AGENTS_PATH = "/api/v1/agents";

/** Options of {@link ControllerOwnershipSource}. */
export interface ControllerOwnershipSourceOptions {
  /** The controller's API endpoint, such as `http://127.0.0.1:9090`. */
  endpoint: string;
  /** Its bearer token; undefined for a controller run with --insecure. */
  token: string | undefined;
  readTimeoutMs?: number;
}

/** Reads ownership from a running controller. Any failure is UNAVAILABLE, so the scan deletes nothing. */
export class ControllerOwnershipSource implements OwnershipSource {
  readonly #endpoint: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #client: FastSandbox;

  constructor(options: ControllerOwnershipSourceOptions) {
    this.#endpoint = options.endpoint;
    this.#token = options.token;
    this.#timeoutMs = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    this.#client = new FastSandbox({
      endpoint: options.endpoint,
      ...(options.token ? { token: options.token } : {}),
      timeoutMs: this.#timeoutMs,
    });
  }

  async read(signal?: AbortSignal): Promise<Ownership> {
    try {
      const [sandboxes, agents] = await Promise.all([
        this.#client.sandboxes.list({ allNamespaces: true, ...(signal ? { signal } : {}) }),
        this.#agents(signal),
      ]);
      return new Ownership({
        sandboxes: sandboxes.map(({ details }) => ({
          namespace: details.namespace,
          name: details.name,
          uid: details.uid,
          sandboxId: details.id,
        })),
        agents,
      });
    } catch (err) {
      if (err instanceof FsbError) throw err;
      throw new FsbError(
        ErrorCode.Unavailable,
        `cannot read ownership from the controller at ${this.#endpoint}: ${(err as Error).message ?? err}`,
        { cause: err },
      );
    }
  }

  async #agents(signal: AbortSignal | undefined): Promise<string[]> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const res = await fetch(new URL(AGENTS_PATH, this.#endpoint), {
      headers: this.#token ? { authorization: `Bearer ${this.#token}` } : {},
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    if (!res.ok) {
      throw new FsbError(
        res.status === 401 ? ErrorCode.Unauthenticated : ErrorCode.Unavailable,
        `GET ${AGENTS_PATH} at ${this.#endpoint} answered ${res.status}`,
      );
    }
    const body = (await res.json()) as { agents?: unknown };
    if (!Array.isArray(body.agents) || !body.agents.every((a) => typeof a?.agentId === "string")) {
      throw new FsbError(ErrorCode.Internal, `GET ${AGENTS_PATH} answered without a list of agents`);
    }
    return body.agents.map((a: { agentId: string }) => a.agentId);
  }
}

/** The controller's client for an agent's file routes (docs/agent-api.md, "Files"); contents stream both ways. */
import { Readable } from "node:stream";
import { ErrorCode, type StreamUploadAnswer, streamUpload } from "@fast-sandbox/api";
import type { AgentFileView, AgentListResponse, AgentStatResponse } from "../../agent/file-wire.ts";
import { AgentCallError, deliveryOfFetchError } from "../agent-call-error.ts";
import { agentBaseUrl, errorFrom } from "../agent-client.ts";

/** Metadata calls are one short busybox process in the sandbox; a list of a large tree takes longer. */
const CALL_TIMEOUT_MS = 60_000;

/** What an upload writes, besides its content. */
export interface UploadTarget {
  path: string;
  /** A tar stream to extract into `path` (a directory, made as needed). */
  archive: boolean;
  mode?: number | undefined;
  parents?: boolean | undefined;
}

export class AgentFilesClient {
  readonly #url: string;
  readonly #token: string | undefined;

  constructor(url: string, token: string | undefined) {
    this.#url = agentBaseUrl(url);
    this.#token = token;
  }

  async stat(sandboxId: string, path: string, signal?: AbortSignal): Promise<AgentFileView> {
    return (await this.#call<AgentStatResponse>("stat", { sandboxId, path }, signal)).file;
  }

  list(sandboxId: string, path: string, depth: number, signal?: AbortSignal): Promise<AgentListResponse> {
    return this.#call("list", { sandboxId, path, depth }, signal);
  }

  async mkdir(
    sandboxId: string,
    path: string,
    options: { parents: boolean; mode: number | undefined },
    signal?: AbortSignal,
  ): Promise<void> {
    await this.#call("mkdir", { sandboxId, path, parents: options.parents, mode: options.mode }, signal);
  }

  async remove(sandboxId: string, path: string, recursive: boolean, signal?: AbortSignal): Promise<void> {
    await this.#call("remove", { sandboxId, path, recursive }, signal);
  }

  async move(sandboxId: string, from: string, to: string, signal?: AbortSignal): Promise<void> {
    await this.#call("move", { sandboxId, from, to }, signal);
  }

  /** The file's bytes (or a tar stream of the path), read from the agent as the caller reads them. */
  async download(sandboxId: string, path: string, archive: boolean, signal: AbortSignal): Promise<Readable> {
    const query = new URLSearchParams({ sandboxId, path, ...(archive ? { archive: "tar" } : {}) });
    const res = await this.#fetch("GET", `/api/v1/agent/files/download?${query}`, undefined, signal);
    if (!res.ok) throw await errorFrom(res, this.#url);
    return res.body
      ? Readable.fromWeb(res.body as import("node:stream/web").ReadableStream)
      : Readable.from([]);
  }

  /** Sends `content` to the agent as it is read (backpressure end to end). */
  async upload(
    sandboxId: string,
    target: UploadTarget,
    content: Readable,
    signal: AbortSignal,
  ): Promise<void> {
    const query = new URLSearchParams({ sandboxId, path: target.path });
    if (target.archive) query.set("archive", "tar");
    if (target.mode !== undefined) query.set("mode", target.mode.toString(8));
    if (target.parents) query.set("parents", "true");
    const route = `/api/v1/agent/files/upload?${query}`;
    let answer: StreamUploadAnswer;
    try {
      answer = await streamUpload(`${this.#url}${route}`, {
        method: "PUT",
        headers: this.#token ? { authorization: `Bearer ${this.#token}` } : {},
        body: content,
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new AgentCallError(
        ErrorCode.Unavailable,
        `agent ${this.#url} is unreachable or broke off the call (PUT /api/v1/agent/files/upload)`,
        { delivery: deliveryOfFetchError(err), cause: err },
      );
    }
    if (answer.status !== 200)
      throw await errorFrom(new Response(answer.text, { status: answer.status }), this.#url);
  }

  async #call<T>(op: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const timeout = AbortSignal.timeout(CALL_TIMEOUT_MS);
    const res = await this.#fetch(
      "POST",
      `/api/v1/agent/files/${op}`,
      JSON.stringify(body),
      signal ? AbortSignal.any([signal, timeout]) : timeout,
    );
    if (!res.ok) throw await errorFrom(res, this.#url);
    return (await res.json()) as T;
  }

  async #fetch(
    method: string,
    route: string,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<Response> {
    try {
      return await fetch(`${this.#url}${route}`, {
        method,
        headers: {
          ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
          ...(typeof body === "string" ? { "content-type": "application/json" } : {}),
        },
        ...(body === undefined ? {} : { body }),
        signal,
      } as RequestInit);
    } catch (err) {
      if (signal.aborted && (err as Error).name !== "TimeoutError") throw err;
      const timedOut = (err as Error).name === "TimeoutError";
      throw new AgentCallError(
        timedOut ? ErrorCode.DeadlineExceeded : ErrorCode.Unavailable,
        `agent ${this.#url} ${timedOut ? "did not answer in time" : "is unreachable or broke off the call"} (${method} ${route.split("?")[0]})`,
        { delivery: timedOut ? "unknown" : deliveryOfFetchError(err), cause: err },
      );
    }
  }
}

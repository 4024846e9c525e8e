/** Calls the agent's file routes in tests: JSON operations, and uploads and downloads as streams. */
import { Readable } from "node:stream";
import type { AgentProcess, AgentResponse } from "./agent-process.ts";

export interface AgentFiles {
  call(
    op: "stat" | "list" | "mkdir" | "remove" | "move",
    body: Record<string, unknown>,
  ): Promise<AgentResponse>;
  /** Uploads `content` (a Buffer, or a stream sent as it is read); the status and parsed answer. */
  upload(path: string, content: Buffer | Readable, query?: Record<string, string>): Promise<AgentResponse>;
  /** Downloads into memory (small files). */
  download(
    path: string,
    query?: Record<string, string>,
  ): Promise<{ status: number; bytes: Buffer; body: any }>;
  /** The open download response, for streamed reads. */
  open(path: string, query?: Record<string, string>): Promise<Response>;
}

export function agentFiles(agent: AgentProcess, sandboxId: string): AgentFiles {
  const auth = { authorization: `Bearer ${agent.token}` };
  const url = (route: string, path: string, query: Record<string, string>) =>
    `${agent.url}/api/v1/agent/files/${route}?${new URLSearchParams({ sandboxId, path, ...query })}`;
  return {
    call: (op, body) => agent.request("POST", `/api/v1/agent/files/${op}`, { sandboxId, ...body }),
    async upload(path, content, query = {}) {
      const body = Buffer.isBuffer(content) ? content : (Readable.toWeb(content) as ReadableStream);
      const res = await fetch(url("upload", path, query), {
        method: "PUT",
        headers: auth,
        body,
        duplex: "half",
      } as RequestInit);
      return { status: res.status, body: await res.json() };
    },
    async download(path, query = {}) {
      const res = await fetch(url("download", path, query), { headers: auth });
      const bytes = Buffer.from(await res.arrayBuffer());
      const body = res.headers.get("content-type")?.includes("json")
        ? JSON.parse(bytes.toString())
        : undefined;
      return { status: res.status, bytes, body };
    },
    open: (path, query = {}) => fetch(url("download", path, query), { headers: auth }),
  };
}

/** The agent's file routes (docs/agent-api.md, "Files"): JSON for metadata, plain byte streams for contents. */
import type http from "node:http";
import { pipeline } from "node:stream/promises";
import { parseOrThrow } from "@fast-sandbox/api";
import { readJsonBody } from "../http/json-body.ts";
import { sendJson } from "../http/responses.ts";
import type { Route } from "../http/route-table.ts";
import type { AgentSuccessResponse } from "./agent-responses.ts";
import {
  type AgentListResponse,
  type AgentStatResponse,
  fileView,
  listRequestSchema,
  mkdirRequestSchema,
  moveRequestSchema,
  parseContentQuery,
  removeRequestSchema,
  statRequestSchema,
} from "./file-wire.ts";
import type { SandboxFiles } from "./sandbox-files.ts";

type AgentRoute = Route<http.IncomingMessage, http.ServerResponse>;

/** File requests carry a path or two. */
const MAX_FILE_BODY_BYTES = 64 * 1024;

const success: AgentSuccessResponse = { success: true };

export function fileRoutes(files: SandboxFiles): Record<string, AgentRoute> {
  const body = async <T extends Parameters<typeof parseOrThrow>[0]>(req: http.IncomingMessage, schema: T) =>
    parseOrThrow(schema, await readJsonBody(req, MAX_FILE_BODY_BYTES));
  return {
    "/api/v1/agent/files/stat": {
      method: "POST",
      async handle(req, res) {
        const r = await body(req, statRequestSchema);
        const file = fileView(await files.stat(r.sandboxId, r.path));
        sendJson(res, 200, { file } satisfies AgentStatResponse);
      },
    },
    "/api/v1/agent/files/list": {
      method: "POST",
      async handle(req, res) {
        const r = await body(req, listRequestSchema);
        const { entries, truncated } = await files.list(r.sandboxId, r.path, r.depth);
        sendJson(res, 200, { files: entries.map(fileView), truncated } satisfies AgentListResponse);
      },
    },
    "/api/v1/agent/files/mkdir": {
      method: "POST",
      async handle(req, res) {
        const r = await body(req, mkdirRequestSchema);
        await files.mkdir(r.sandboxId, r.path, r.parents, r.mode || undefined);
        sendJson(res, 200, success);
      },
    },
    "/api/v1/agent/files/remove": {
      method: "POST",
      async handle(req, res) {
        const r = await body(req, removeRequestSchema);
        await files.remove(r.sandboxId, r.path, r.recursive);
        sendJson(res, 200, success);
      },
    },
    "/api/v1/agent/files/move": {
      method: "POST",
      async handle(req, res) {
        const r = await body(req, moveRequestSchema);
        await files.move(r.sandboxId, r.from, r.to);
        sendJson(res, 200, success);
      },
    },
    "/api/v1/agent/files/download": {
      method: "GET",
      async handle(_req, res, url) {
        const q = parseContentQuery(url.searchParams);
        const abort = closedSignal(res);
        const content = q.archive
          ? await files.readTar(q.sandboxId, q.path, abort)
          : await files.read(q.sandboxId, q.path, abort);
        res.writeHead(200, {
          "content-type": q.archive ? "application/x-tar" : "application/octet-stream",
          "cache-control": "no-store",
        });
        // A failure after the first byte destroys the answer: the client sees a cut-off transfer.
        await pipeline(content, res).catch(() => {});
      },
    },
    // The request body is the file (or a tar stream to extract), piped into the sandbox as it arrives.
    "/api/v1/agent/files/upload": {
      method: "PUT",
      async handle(req, res, url) {
        const q = parseContentQuery(url.searchParams);
        const abort = new AbortController();
        req.once("close", () => {
          if (!req.complete) abort.abort();
        });
        const { signal } = abort;
        if (q.archive) await files.writeTar(q.sandboxId, q.path, req, signal);
        else await files.write(q.sandboxId, q.path, req, { parents: q.parents, mode: q.mode, signal });
        sendJson(res, 200, success);
      },
    },
  };
}

/** Aborted when the client goes away before the answer is complete. */
function closedSignal(res: http.ServerResponse): AbortSignal {
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) abort.abort();
  });
  return abort.signal;
}

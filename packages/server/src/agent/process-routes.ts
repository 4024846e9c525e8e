/** The agent's process routes (docs/agent-api.md, "Processes"): exec and attach stream NDJSON; the rest are unary. */
import type http from "node:http";
import { invalidArgument, sandboxIdSchema } from "@fast-sandbox/api";
import { readJsonBody } from "../http/json-body.ts";
import { sendJson } from "../http/responses.ts";
import type { Route } from "../http/route-table.ts";
import {
  parseExecRequest,
  parseInputRequest,
  parseProcessRef,
  parseResizeRequest,
  parseSignalRequest,
} from "./agent-requests.ts";
import type { AgentProcessList, AgentSuccessResponse } from "./agent-responses.ts";
import type { ExecEngine } from "./exec-engine.ts";
import { NDJSON_CONTENT_TYPE } from "./exec-events.ts";
import type { ExecProcess } from "./exec-process.ts";
import { parseSignal } from "./process-signals.ts";

type AgentRoute = Route<http.IncomingMessage, http.ServerResponse>;

/** Exec bodies carry argv and env (bounded by their schemas); input carries base64 data. */
const MAX_PROCESS_BODY_BYTES = 1024 * 1024;

const success: AgentSuccessResponse = { success: true };

/** The routes, keyed by path, for the agent's route table. */
export function processRoutes(engine: ExecEngine): Record<string, AgentRoute> {
  return {
    "/api/v1/agent/exec": {
      method: "POST",
      async handle(req, res) {
        const request = parseExecRequest(await readJsonBody(req, MAX_PROCESS_BODY_BYTES));
        // Every failure before this point is a plain error answer; after it, a last `error` line.
        const process = await engine.exec(request);
        stream(res, process);
      },
    },
    "/api/v1/agent/processes/attach": {
      method: "POST",
      async handle(req, res) {
        const { sandboxId, processId } = parseProcessRef(await readJsonBody(req, MAX_PROCESS_BODY_BYTES));
        const process = engine.find(sandboxId, processId);
        stream(res, process);
      },
    },
    "/api/v1/agent/processes/input": {
      method: "POST",
      async handle(req, res) {
        const { sandboxId, processId, data } = parseInputRequest(
          await readJsonBody(req, MAX_PROCESS_BODY_BYTES),
        );
        engine.input(sandboxId, processId, data);
        sendJson(res, 200, success);
      },
    },
    "/api/v1/agent/processes/close-input": {
      method: "POST",
      async handle(req, res) {
        const { sandboxId, processId } = parseProcessRef(await readJsonBody(req, MAX_PROCESS_BODY_BYTES));
        await engine.closeInput(sandboxId, processId);
        sendJson(res, 200, success);
      },
    },
    "/api/v1/agent/processes/resize": {
      method: "POST",
      async handle(req, res) {
        const r = parseResizeRequest(await readJsonBody(req, MAX_PROCESS_BODY_BYTES));
        await engine.resize(r.sandboxId, r.processId, r.cols, r.rows);
        sendJson(res, 200, success);
      },
    },
    "/api/v1/agent/processes/signal": {
      method: "POST",
      async handle(req, res) {
        const r = parseSignalRequest(await readJsonBody(req, MAX_PROCESS_BODY_BYTES));
        await engine.signal(r.sandboxId, r.processId, parseSignal(r.signal));
        sendJson(res, 200, success);
      },
    },
    "/api/v1/agent/processes": {
      method: "GET",
      handle(_req, res, url) {
        const sandboxId = sandboxIdSchema.safeParse(url.searchParams.get("sandboxId") ?? "");
        if (!sandboxId.success) throw invalidArgument("sandboxId", "must be a DNS-1123 label");
        sendJson(res, 200, { processes: engine.list(sandboxId.data) } satisfies AgentProcessList);
      },
    },
  };
}

function stream(res: http.ServerResponse, process: ExecProcess): void {
  process.attach(startStream(res));
}

/** Sends the headers of an NDJSON stream; every line is flushed as written (no compression, no buffering). */
function startStream(res: http.ServerResponse): http.ServerResponse {
  res.writeHead(200, { "content-type": NDJSON_CONTENT_TYPE, "cache-control": "no-store" });
  res.flushHeaders();
  return res;
}

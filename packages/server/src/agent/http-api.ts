/** The agent's HTTP API (see docs/agent-api.md): its routes on the shared HTTP toolkit (auth, body limit, errors). */
import { stat } from "node:fs/promises";
import http from "node:http";
import { ErrorCode, FsbError, invalidArgument, sandboxIdSchema } from "@fast-sandbox/api";
import type { Logger } from "pino";
import { BearerToken } from "../http/bearer-token.ts";
import { readJsonBody } from "../http/json-body.ts";
import { sendJson } from "../http/responses.ts";
import { type Route, RouteTable } from "../http/route-table.ts";
import type { AgentConfig } from "./agent-config.ts";
import type { AgentMetrics } from "./agent-metrics.ts";
import { parseCreateRequest, parseDeleteRequest, parsePrewarmRequest } from "./agent-requests.ts";
import type {
  AgentCreateResponse,
  AgentDeleteResponse,
  AgentPrewarmResponse,
  AgentSandboxView,
  AgentStatusView,
} from "./agent-responses.ts";
import type { ExecEngine } from "./exec-engine.ts";
import { fileRoutes } from "./file-routes.ts";
import type { ImageCatalog } from "./image-catalog.ts";
import { streamLog } from "./log-stream.ts";
import type { PrewarmPool } from "./prewarm-pool.ts";
import { processRoutes } from "./process-routes.ts";
import { SandboxFiles } from "./sandbox-files.ts";
import type { SandboxManager, SandboxStatus } from "./sandbox-manager.ts";
import type { StatusRevision } from "./status-revision.ts";

/** Create bodies are a few KiB; a megabyte is generous and bounds memory per request. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** A client must send its whole request within this time (slow-loris bound). */
const REQUEST_TIMEOUT_MS = 30_000;

type AgentRoute = Route<http.IncomingMessage, http.ServerResponse>;

/** Options of {@link createAgentServer}. */
export interface AgentServerOptions {
  config: AgentConfig;
  manager: SandboxManager;
  prewarm: PrewarmPool;
  /** Processes inside sandboxes (exec, attach, input, resize, signal, list); file operations run through it too. */
  exec: ExecEngine;
  /** The cached image list the status reports (refreshed in the background). */
  catalog: ImageCatalog;
  revision: StatusRevision;
  metrics: AgentMetrics;
  logger: Logger;
  /** Whether the agent is ready to serve (adoption finished, containerd reachable). */
  ready: () => boolean;
}

/** Builds the HTTP server; the caller listens and closes it. */
export function createAgentServer(options: AgentServerOptions): http.Server {
  const { config, metrics, logger } = options;
  const routes = new RouteTable<http.IncomingMessage, http.ServerResponse>(
    {
      ...sandboxRoutes(options),
      "/api/v1/agent/logs": logsRoute(options.manager),
      ...processRoutes(options.exec),
      ...fileRoutes(new SandboxFiles(options.exec)),
      ...publicRoutes(options),
    },
    {
      token: config.token ? new BearerToken(config.token) : undefined,
      onServerError: (err) => logger.error({ err }, "request failed"),
    },
  );
  const server = http.createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (req, res) => {
    const routeLabel = routes.match(req) ?? "unmatched";
    res.on("finish", () => metrics.countRequest(routeLabel, res.statusCode));
    void routes.handle(req, res);
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

/** Create, delete, status and prewarm: the controller's calls. */
function sandboxRoutes(options: AgentServerOptions): Record<string, AgentRoute> {
  const { config, manager, prewarm, catalog, revision } = options;
  return {
    "/api/v1/agent/create": {
      method: "POST",
      async handle(req, res) {
        const spec = parseCreateRequest(await readJsonBody(req, MAX_BODY_BYTES));
        const sandbox = await manager.create(spec);
        sendJson(res, 200, {
          success: true,
          agentId: config.agentId,
          nodeName: config.nodeName,
          ...view(sandbox),
          prewarmed: sandbox.prewarmed,
        } satisfies AgentCreateResponse);
      },
    },
    "/api/v1/agent/delete": {
      method: "POST",
      async handle(req, res) {
        const body = await readJsonBody(req, MAX_BODY_BYTES);
        const { sandboxId, gracePeriodSeconds, keepLog } = parseDeleteRequest(body);
        await manager.delete(sandboxId, { gracePeriodSeconds, keepLog });
        sendJson(res, 200, { success: true, sandboxId } satisfies AgentDeleteResponse);
      },
    },
    "/api/v1/agent/status": {
      method: "GET",
      // From memory only: containerd may be slow or down, and the controller must still hear from us.
      handle(_req, res) {
        sendJson(res, 200, {
          agentId: config.agentId,
          nodeName: config.nodeName,
          pool: config.pool,
          runtime: config.runtime,
          networkMode: config.sandboxNetwork.defaultMode,
          address: config.advertiseAddress,
          capacity: manager.capacity,
          allocated: manager.allocated,
          revision: revision.value,
          images: catalog.names,
          sandboxes: manager.list().map(view),
          prewarm: prewarm.status(),
          takenAt: new Date().toISOString(),
        } satisfies AgentStatusView);
      },
    },
    "/api/v1/agent/prewarm": {
      method: "PUT",
      async handle(req, res) {
        // Declarative and idempotent: the whole desired set; the pool converges in the background.
        prewarm.setDesired(parsePrewarmRequest(await readJsonBody(req, MAX_BODY_BYTES), config.maxPrewarm));
        sendJson(res, 200, { success: true, prewarm: prewarm.status() } satisfies AgentPrewarmResponse);
      },
    },
  };
}

/** `GET /api/v1/agent/logs`: a sandbox's log, whole or its tail, optionally followed. */
function logsRoute(manager: SandboxManager): AgentRoute {
  return {
    method: "GET",
    async handle(_req, res, url) {
      const sandboxId = sandboxIdSchema.safeParse(url.searchParams.get("sandboxId") ?? "");
      if (!sandboxId.success) throw invalidArgument("sandboxId", "must be a DNS-1123 label");
      const follow = parseBool(url.searchParams.get("follow"), "follow");
      const tailLines = parseTail(url.searchParams.get("tailLines"));
      const tracked = manager.get(sandboxId.data);
      // A sandbox deleted with keepLog still has its log to read (not to follow).
      const logPath = tracked?.logPath ?? manager.logPathOf(sandboxId.data);
      if (!tracked && !(await fileExists(logPath))) {
        throw new FsbError(ErrorCode.NotFound, `sandbox ${sandboxId.data} not found on this agent`);
      }
      const abort = new AbortController();
      res.on("close", () => abort.abort());
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
      res.flushHeaders();
      await streamLog(res, {
        path: logPath,
        follow,
        ...(tailLines === undefined ? {} : { tailLines }),
        signal: abort.signal,
        // Done once the process has exited, or the sandbox is gone. Not while a delete is under
        // way: the process still gets SIGTERM and may write its last words; the delete ends (and
        // wakes this follower) only once the container and its output are closed.
        finished: () => {
          const now = manager.get(sandboxId.data);
          return !now || now.phase === "Exited";
        },
        wake: (resolve) => manager.onExit((id) => id === sandboxId.data && resolve()),
      });
      res.end();
    },
  };
}

/** Probes and scrapes: no token. */
function publicRoutes(options: AgentServerOptions): Record<string, AgentRoute> {
  return {
    "/healthz": {
      method: "GET",
      public: true,
      handle(_req, res) {
        const ok = options.ready();
        sendJson(res, ok ? 200 : 503, { status: ok ? "ok" : "starting" });
      },
    },
    "/metrics": {
      method: "GET",
      public: true,
      async handle(_req, res) {
        const body = await options.metrics.registry.metrics();
        res.writeHead(200, { "content-type": options.metrics.registry.contentType });
        res.end(body);
      },
    },
  };
}

function view(s: SandboxStatus): AgentSandboxView {
  return {
    sandboxId: s.sandboxId,
    containerId: s.containerId,
    name: s.name,
    namespace: s.namespace,
    uid: s.uid,
    pool: s.pool,
    image: s.image,
    phase: s.phase,
    taskState: s.taskState,
    pid: s.pid,
    exitCode: s.exitCode ?? null,
    exitedAt: s.exitedAt?.toISOString() ?? null,
    exitReason: s.exitReason ?? null,
    createdAt: s.createdAt.toISOString(),
    endpoints: s.endpoints,
  };
}

async function fileExists(file: string): Promise<boolean> {
  return stat(file).then(
    (st) => st.isFile(),
    () => false,
  );
}

function parseBool(raw: string | null, field: string): boolean {
  if (raw === null || raw === "" || raw === "false" || raw === "0") return false;
  if (raw === "true" || raw === "1") return true;
  throw invalidArgument(field, `"${raw}" is not true or false`);
}

/** Bounds a tail request; a million lines is far more than any terminal shows. */
const MAX_TAIL_LINES = 1_000_000;

function parseTail(raw: string | null): number | undefined {
  if (raw === null || raw === "") return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) > MAX_TAIL_LINES) {
    throw invalidArgument("tailLines", `"${raw}" is not a whole number from 0 to ${MAX_TAIL_LINES}`);
  }
  return Number(raw);
}

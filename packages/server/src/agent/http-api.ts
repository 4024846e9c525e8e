/** The agent's HTTP API (design §4): routing, bearer auth, body limits and the error boundary. */
import { createHash, timingSafeEqual } from "node:crypto";
import { stat } from "node:fs/promises";
import http from "node:http";
import { ErrorCode, FsbError, invalidArgument, sandboxIdSchema, toFsbError } from "@fast-sandbox/api";
import type { Logger } from "pino";
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
import { errorBody, httpStatusFor } from "./http-errors.ts";
import type { ImageCatalog } from "./image-catalog.ts";
import { streamLog } from "./log-stream.ts";
import type { PrewarmPool } from "./prewarm-pool.ts";
import type { SandboxManager, SandboxStatus } from "./sandbox-manager.ts";
import type { StatusRevision } from "./status-revision.ts";

/** Create bodies are a few KiB; a megabyte is generous and bounds memory per request. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** A client must send its whole request within this time (slow-loris bound). */
const REQUEST_TIMEOUT_MS = 30_000;

interface Route {
  method: "GET" | "POST" | "PUT";
  /** Probes and scrapes carry no token, as kubelet and Prometheus do not send one by default. */
  public?: boolean;
  handle: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<void>;
}

/** Options of {@link createAgentServer}. */
export interface AgentServerOptions {
  config: AgentConfig;
  manager: SandboxManager;
  prewarm: PrewarmPool;
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
  const { config, manager, prewarm, catalog, revision, metrics, logger } = options;
  const expectedToken = config.token ? digest(config.token) : undefined;

  const routes: Record<string, Route> = {
    "/api/v1/agent/create": {
      method: "POST",
      async handle(req, res) {
        const spec = parseCreateRequest(await readJson(req));
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
        const { sandboxId, gracePeriodSeconds, keepLog } = parseDeleteRequest(await readJson(req));
        await manager.delete(sandboxId, { gracePeriodSeconds, keepLog });
        sendJson(res, 200, { success: true, sandboxId } satisfies AgentDeleteResponse);
      },
    },
    "/api/v1/agent/status": {
      method: "GET",
      // From memory only: containerd may be slow or down, and the controller must still hear from us.
      async handle(_req, res) {
        sendJson(res, 200, {
          agentId: config.agentId,
          nodeName: config.nodeName,
          pool: config.pool,
          runtime: config.runtime,
          address: config.advertiseAddress,
          capacity: manager.capacity,
          allocated: manager.allocated,
          revision: revision.value,
          images: catalog.names,
          sandboxes: manager.list().map(view),
          prewarm: prewarm.status(),
        } satisfies AgentStatusView);
      },
    },
    "/api/v1/agent/prewarm": {
      method: "PUT",
      async handle(req, res) {
        // Declarative and idempotent: the whole desired set; the pool converges in the background.
        prewarm.setDesired(parsePrewarmRequest(await readJson(req), config.maxPrewarm));
        sendJson(res, 200, { success: true, prewarm: prewarm.status() } satisfies AgentPrewarmResponse);
      },
    },
    "/api/v1/agent/logs": {
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
          finished: () => {
            const now = manager.get(sandboxId.data);
            return !now || now.phase === "Exited" || now.phase === "Deleting";
          },
          wake: (resolve) => manager.onExit((id) => id === sandboxId.data && resolve()),
        });
        res.end();
      },
    },
    "/healthz": {
      method: "GET",
      public: true,
      async handle(_req, res) {
        const ok = options.ready();
        sendJson(res, ok ? 200 : 503, { status: ok ? "ok" : "starting" });
      },
    },
    "/metrics": {
      method: "GET",
      public: true,
      async handle(_req, res) {
        const body = await metrics.registry.metrics();
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(body);
      },
    },
  };

  const server = http.createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (req, res) => {
    const url = new URL(req.url ?? "/", "http://agent");
    const route = routes[url.pathname];
    const routeLabel = route ? url.pathname : "unmatched";
    res.on("finish", () => metrics.countRequest(routeLabel, res.statusCode));
    void (async () => {
      try {
        if (!route) throw new FsbError(ErrorCode.NotFound, `no route ${url.pathname}`);
        if (!route.public && expectedToken && !tokenMatches(req.headers.authorization, expectedToken)) {
          throw new FsbError(ErrorCode.Unauthenticated, "missing or wrong bearer token");
        }
        if (req.method !== route.method) {
          res.setHeader("allow", route.method);
          return sendJson(
            res,
            405,
            errorBody(new FsbError(ErrorCode.InvalidArgument, `use ${route.method}`)),
          );
        }
        await route.handle(req, res, url);
      } catch (err) {
        fail(res, err, logger);
      }
    })();
  });
  server.keepAliveTimeout = 65_000;
  return server;
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

function fail(res: http.ServerResponse, err: unknown, logger: Logger): void {
  const error = err instanceof BodyTooLarge ? err.error : toFsbError(err);
  const status = err instanceof BodyTooLarge ? 413 : httpStatusFor(error.code);
  if (status >= 500) logger.error({ err }, "request failed");
  if (res.headersSent) {
    // Mid-stream (logs): the status line is gone; cut the stream so the client sees the failure.
    res.destroy(error);
    return;
  }
  sendJson(res, status, errorBody(error));
}

class BodyTooLarge extends Error {
  readonly error = new FsbError(ErrorCode.InvalidArgument, `request body exceeds ${MAX_BODY_BYTES} bytes`);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    throw new BodyTooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      req.resume();
      throw new BodyTooLarge();
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "")
    throw new FsbError(ErrorCode.InvalidArgument, "request body is empty; expected JSON");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FsbError(ErrorCode.InvalidArgument, `malformed JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

async function fileExists(file: string): Promise<boolean> {
  return stat(file).then(
    (st) => st.isFile(),
    () => false,
  );
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
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

/** Comparing digests keeps the comparison constant-time whatever the token lengths. */
function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

function tokenMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match !== null && timingSafeEqual(digest(match[1]!), expected);
}

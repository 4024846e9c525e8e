/**
 * The controller's plain HTTP routes, all in one place: probes on the health port, /metrics on the
 * metrics port, and beside the RPCs on the API port /version, the probes, `GET /api/v1/agents` and
 * `POST /api/v1/agents/register` (how self-started agents announce themselves).
 */
import { dnsLabelSchema, ErrorCode, FsbError, parseOrThrow } from "@fast-sandbox/api";
import type { Registry } from "prom-client";
import { z } from "zod";
import type { AgentRegistration } from "../agent/controller-registration.ts";
import type { ApiRequest, ApiResponse } from "../api-server/api-server.ts";
import { VERSION } from "../core/version.ts";
import { BearerToken } from "../http/bearer-token.ts";
import { readJsonBody } from "../http/json-body.ts";
import { type PlainRoute, plainRoute } from "../http/plain-http-server.ts";
import { sendJson } from "../http/responses.ts";
import { type Route, RouteTable } from "../http/route-table.ts";
import type { AgentRegistry } from "./registry/agent-registry.ts";

export const REGISTER_PATH = "/api/v1/agents/register";
/** `GET /api/v1/agents`: every agent the registry knows (placeholders are agents not heard from yet). */
export const AGENTS_PATH = "/api/v1/agents";
/** A registration is a few hundred bytes. */
const MAX_REGISTRATION_BYTES = 64 * 1024;

const registrationSchema = z.strictObject({
  agentId: dnsLabelSchema,
  url: z
    .string()
    .regex(/^https?:\/\/[^/\s]+\/?$/, "must be the agent's base URL, such as http://10.0.0.7:5758"),
  address: z.string().min(1).max(255),
  nodeName: z.string().min(1).max(253),
  pool: dnsLabelSchema,
  namespace: dnsLabelSchema,
  capacity: z.number().int().min(1).max(1000),
  runtime: z.enum(["container", "gvisor"]),
  token: z.string().min(1).max(4096).optional(),
});

/** `/healthz` (alive: always 200) and `/readyz` (200 with `readyText` once ready, else 503 with `notReadyText`). */
export function probeRoutes(
  ready: () => boolean,
  readyText: string,
  notReadyText: string,
): Record<string, PlainRoute> {
  const text = (status: number, body: string) => ({ status, contentType: "text/plain", body });
  return {
    "/healthz": async () => text(200, "ok"),
    "/readyz": async () => (ready() ? text(200, readyText) : text(503, notReadyText)),
  };
}

/** `/metrics` in the Prometheus text format. */
export function metricsRoutes(registry: Registry): Record<string, PlainRoute> {
  return {
    "/metrics": async () => ({
      status: 200,
      contentType: registry.contentType,
      body: await registry.metrics(),
    }),
  };
}

/** Options of {@link apiPortRoutes}. */
export interface ApiPortRoutesOptions {
  /** The API token (undefined with --insecure); the agent routes need it, the probes and /version do not. */
  token: string | undefined;
  ready: () => boolean;
  registry: AgentRegistry;
  /**
   * Until then the agent list is not given out: self-registered agents have their loss timeout
   * to heartbeat after a restart, and until then "not in the list" does not mean gone.
   */
  agentsSettledAt: () => number;
  register: (registration: AgentRegistration) => void;
}

/** The plain routes of the API port (RPC paths are not among them: the table passes those on). */
export function apiPortRoutes(o: ApiPortRoutesOptions): RouteTable<ApiRequest, ApiResponse> {
  const probes = probeRoutes(o.ready, "ok", "starting");
  const routes: Record<string, Route<ApiRequest, ApiResponse>> = {
    "/version": {
      method: "GET",
      public: true,
      handle: (_req, res) => sendJson(res, 200, { version: VERSION, node: process.version }),
    },
    "/healthz": plainRoute(probes["/healthz"]!),
    "/readyz": plainRoute(probes["/readyz"]!),
    [AGENTS_PATH]: {
      method: "GET",
      // The janitor asks which agents exist: a container of an agent that is gone is an orphan.
      handle(_req, res) {
        if (Date.now() < o.agentsSettledAt()) {
          throw new FsbError(ErrorCode.Unavailable, "agent list not settled yet after start");
        }
        sendJson(res, 200, { agents: agentList(o.registry) });
      },
    },
    [REGISTER_PATH]: {
      method: "POST",
      async handle(req, res) {
        const parsed = parseOrThrow(registrationSchema, await readJsonBody(req, MAX_REGISTRATION_BYTES));
        o.register({ ...parsed, url: parsed.url.replace(/\/$/, "") });
        sendJson(res, 200, { ok: true });
      },
    },
  };
  return new RouteTable(routes, { token: o.token ? new BearerToken(o.token) : undefined });
}

function agentList(registry: AgentRegistry) {
  return registry.agents().map((a) => ({
    agentId: a.id,
    nodeName: a.nodeName,
    pool: a.pool,
    namespace: a.namespace,
    url: a.url,
    healthy: a.healthy,
    registered: !a.placeholder,
    capacity: a.capacity,
    allocated: a.allocated,
    lastHeartbeat: a.lastHeartbeat ? new Date(a.lastHeartbeat).toISOString() : null,
  }));
}

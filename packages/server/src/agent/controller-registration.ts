/** Self-registration: an agent started on its own announces itself to the controller and keeps doing so. */
import type { Logger } from "pino";
import type { AgentConfig } from "./agent-config.ts";

/** Re-registering this often lets a restarted controller relearn every agent within seconds. */
export const HEARTBEAT_INTERVAL_MS = 5000;
/**
 * While registering fails (the controller restarts, or a new leader takes over), the agent tries
 * this often instead, so it is back within a second of the API opening: creates that wait for it
 * start sooner, and a failover stays within its budget (docs/kubernetes.md).
 */
export const RETRY_INTERVAL_MS = 1000;
const REQUEST_TIMEOUT_MS = 3000;

/** What an agent tells the controller about itself (`POST /api/v1/agents/register`). */
export interface AgentRegistration {
  agentId: string;
  /** Base URL of the agent's HTTP API. */
  url: string;
  /** Address sandboxes' endpoints use. */
  address: string;
  nodeName: string;
  pool: string;
  namespace: string;
  capacity: number;
  runtime: string;
  /** The agent's own API token, so the controller can call it back. */
  token?: string;
}

/** The registration body for this agent, listening on `port`. */
export function registrationFor(config: AgentConfig, port: number): AgentRegistration {
  return {
    agentId: config.agentId,
    url: `http://${config.advertiseAddress}:${port}`,
    address: config.advertiseAddress,
    nodeName: config.nodeName,
    pool: config.pool,
    namespace: config.namespace,
    capacity: config.capacity,
    runtime: config.runtime,
    ...(config.token ? { token: config.token } : {}),
  };
}

/**
 * Registers now and then every {@link HEARTBEAT_INTERVAL_MS} (every {@link RETRY_INTERVAL_MS} while
 * it fails) until `signal` aborts. Failures are
 * logged once per outage, not per attempt, and never stop the agent: it serves with or without a controller.
 */
export async function keepRegistered(
  controllerUrl: string,
  controllerToken: string | undefined,
  registration: AgentRegistration,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  let failing = false;
  const url = new URL("/api/v1/agents/register", controllerUrl);
  while (!signal.aborted) {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(controllerToken ? { authorization: `Bearer ${controllerToken}` } : {}),
        },
        body: JSON.stringify(registration),
        signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      if (failing) logger.info({ controllerUrl }, "registered with the controller again");
      failing = false;
    } catch (err) {
      if (signal.aborted) return;
      if (!failing) logger.warn({ err, controllerUrl }, "cannot register with the controller; retrying");
      failing = true;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, failing ? RETRY_INTERVAL_MS : HEARTBEAT_INTERVAL_MS);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}

/** Start-up steps of the controller that are not wiring: the seed pool, and waiting for the first agents. */
import {
  API_VERSION,
  ErrorCode,
  isFsbError,
  objectKey,
  POOL_KIND,
  splitObjectKey,
  validatePoolSpec,
} from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { ObjectStore } from "../store/object-store.ts";
import type { ControllerConfig } from "./controller-config.ts";
import type { AgentLauncher } from "./pool/agent-launcher.ts";
import type { AgentRegistry } from "./registry/agent-registry.ts";

/** How long the first start waits for the pools' first agents before it serves anyway. */
const FIRST_AGENTS_TIMEOUT_MS = 30_000;

/** Creates the seed pool (`--local-agents` and friends) unless a pool of that name exists: then the store owns it. */
export async function seedPool(store: ObjectStore, config: ControllerConfig, log: Logger): Promise<void> {
  const seed = config.seedPool!;
  const spec = validatePoolSpec({
    capacity: {
      poolMin: seed.poolMin,
      poolMax: seed.poolMax,
      bufferMin: seed.bufferMin,
      bufferMax: seed.bufferMax,
    },
    maxSandboxesPerPod: seed.maxSandboxesPerPod,
  });
  try {
    await store.create({
      apiVersion: API_VERSION,
      kind: POOL_KIND,
      metadata: { name: config.pool, namespace: config.poolNamespace },
      spec,
    });
    log.info(
      { pool: objectKey(config.poolNamespace, config.pool), capacity: spec.capacity },
      "created the seed pool",
    );
  } catch (err) {
    if (!isFsbError(err, ErrorCode.AlreadyExists)) throw err;
  }
}

/**
 * Waits until every launch the first pool passes asked for has answered (or failed), so a create
 * right after the controller reports ready finds its agents. Bounded: a broken agent binary must
 * not keep the API down.
 */
export async function waitForFirstAgents(
  launcher: AgentLauncher,
  poolKeys: string[],
  registry: AgentRegistry,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + FIRST_AGENTS_TIMEOUT_MS;
  while (!signal.aborted && Date.now() < deadline) {
    const waiting = poolKeys.some((key) => {
      const { namespace, name } = splitObjectKey(key);
      return launcher
        .agents({ namespace, name })
        .some(
          (a) => a.state === "starting" || (a.state === "running" && !registry.agent(a.agentId)?.healthy),
        );
    });
    if (!waiting) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

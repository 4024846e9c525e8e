/** Start-up steps of the controller that are not wiring: the seed pool. */
import {
  API_VERSION,
  ErrorCode,
  isFsbError,
  objectKey,
  POOL_KIND,
  validatePoolSpec,
} from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { ObjectStore } from "../store/object-store.ts";
import type { ControllerConfig } from "./controller-config.ts";

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
    network: { mode: seed.networkMode },
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

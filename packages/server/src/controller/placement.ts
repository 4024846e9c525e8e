/** Asks the registry for a slot for one incarnation of a sandbox: the one place that builds that request. */
import {
  DEFAULT_POOL,
  ErrorCode,
  envListToMap,
  FsbError,
  isFsbError,
  objectKey,
  prewarmKeyOfCreate,
  type SandboxSpec,
} from "@fast-sandbox/api";
import type { AgentRegistry, Allocation } from "./registry/agent-registry.ts";

/**
 * Told when a pool had no free slot, so the pool controller can count the demand and scale.
 * Answers whether the pool is growing, which the error then says so that the caller retries.
 */
export type NoCapacityHook = (namespace: string, pool: string, sandbox: string) => boolean;

/**
 * Agents here run only images already on their node (they do not pull), so the image is a hard
 * requirement: with no agent holding it the answer is FAILED_PRECONDITION, with all of those full
 * RESOURCE_EXHAUSTED. Among the agents that qualify, one holding a ready prewarmed container for
 * exactly this spec wins, then the least loaded.
 */
export function allocateSandbox(
  registry: AgentRegistry,
  sandbox: { namespace: string; name: string; spec: SandboxSpec },
  sandboxId: string,
  onNoCapacity?: NoCapacityHook,
): Allocation {
  const { spec } = sandbox;
  const pool = spec.poolRef || DEFAULT_POOL;
  // The same rule the agent takes by: image, command, args and env, and no working dir or limits.
  const key = prewarmKeyOfCreate({ ...spec, env: spec.env?.length ? envListToMap(spec.env) : undefined });
  try {
    return registry.allocate({
      key: sandboxId,
      displayName: objectKey(sandbox.namespace, sandbox.name),
      pool,
      namespace: sandbox.namespace,
      image: spec.image,
      ports: spec.exposedPorts ?? [],
      requireImage: true,
      ...(key === undefined ? {} : { prewarmKey: key }),
    });
  } catch (err) {
    // While agents are starting, their images are not known yet either: a missing image is then
    // no reason to give up, only to retry once they report.
    const full = isFsbError(err, ErrorCode.ResourceExhausted);
    const noImage = isFsbError(err, ErrorCode.FailedPrecondition);
    if ((full || noImage) && onNoCapacity?.(sandbox.namespace, pool, sandbox.name)) {
      throw new FsbError(
        ErrorCode.ResourceExhausted,
        `${err.message}; the pool is adding agents, retry in a few seconds`,
        { cause: err },
      );
    }
    throw err;
  }
}

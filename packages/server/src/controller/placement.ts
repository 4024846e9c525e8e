/** Asks the registry for a slot for one incarnation of a sandbox: the one place that builds that request. */
import {
  DEFAULT_POOL,
  ErrorCode,
  envListToMap,
  FsbError,
  isFsbError,
  objectKey,
  prewarmKey,
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
  const key = prewarmableKey(spec);
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

/**
 * The prewarm key of a spec an agent could serve from a prewarmed container: only image, command,
 * args and env may be set, since a working dir or limits would make a different container.
 */
function prewarmableKey(spec: SandboxSpec): string | undefined {
  if (spec.workingDir || spec.resources) return undefined;
  return prewarmKey({
    image: spec.image,
    ...(spec.command?.length ? { command: spec.command } : {}),
    ...(spec.args?.length ? { args: spec.args } : {}),
    ...(spec.env?.length ? { env: envListToMap(spec.env) } : {}),
  });
}

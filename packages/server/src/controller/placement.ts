/** Asks the registry for a slot for one incarnation of a sandbox: the one place that builds that request. */
import {
  DEFAULT_POOL,
  envListToMap,
  objectKey,
  prewarmKeyOfCreate,
  type SandboxSpec,
} from "@fast-sandbox/api";
import type { AgentRegistry, Allocation } from "./registry/agent-registry.ts";

/** Options of {@link allocateSandbox}. */
export interface PlacementOptions {
  /** Agents not to use (one that just failed to create this sandbox). */
  avoidAgents?: readonly string[];
}

/**
 * Agents here run only images already on their node (they do not pull), so the image is a hard
 * requirement: with no agent holding it the answer is FAILED_PRECONDITION, with all of those full
 * RESOURCE_EXHAUSTED. Among the agents that qualify, one holding a ready prewarmed container for
 * exactly this spec wins, then the least loaded. Whether to wait for room is the caller's
 * decision (room-wait.ts).
 */
export function allocateSandbox(
  registry: AgentRegistry,
  sandbox: { namespace: string; name: string; spec: SandboxSpec },
  sandboxId: string,
  options: PlacementOptions = {},
): Allocation {
  const { spec } = sandbox;
  // The same rule the agent takes by: image, command, args and env, and no working dir or limits.
  const key = prewarmKeyOfCreate({ ...spec, env: spec.env?.length ? envListToMap(spec.env) : undefined });
  return registry.allocate({
    key: sandboxId,
    displayName: objectKey(sandbox.namespace, sandbox.name),
    pool: spec.poolRef || DEFAULT_POOL,
    namespace: sandbox.namespace,
    image: spec.image,
    ports: spec.exposedPorts ?? [],
    ...(spec.network?.mode ? { networkMode: spec.network.mode } : {}),
    requireImage: true,
    ...(options.avoidAgents?.length ? { avoidAgents: options.avoidAgents } : {}),
    ...(key === undefined ? {} : { prewarmKey: key }),
  });
}

/** Asks the registry for a slot for one incarnation of a sandbox: the one place that builds that request. */
import { DEFAULT_POOL, objectKey, type SandboxSpec } from "@fast-sandbox/api";
import type { AgentRegistry, Allocation } from "./registry/agent-registry.ts";

/**
 * Agents here run only images already on their node (they do not pull), so the image is a hard
 * requirement: with no agent holding it the answer is FAILED_PRECONDITION, with all of those full
 * RESOURCE_EXHAUSTED. Among the agents that qualify, the least loaded wins.
 */
export function allocateSandbox(
  registry: AgentRegistry,
  sandbox: { namespace: string; name: string; spec: SandboxSpec },
  sandboxId: string,
): Allocation {
  return registry.allocate({
    key: sandboxId,
    displayName: objectKey(sandbox.namespace, sandbox.name),
    pool: sandbox.spec.poolRef || DEFAULT_POOL,
    namespace: sandbox.namespace,
    image: sandbox.spec.image,
    ports: sandbox.spec.exposedPorts ?? [],
    requireImage: true,
  });
}

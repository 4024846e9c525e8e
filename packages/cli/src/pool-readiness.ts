/** Whether a pool is still coming up, so a sandbox refused for want of capacity may fit in a moment. */
import type { PoolDetails } from "@fast-sandbox/sdk";

/**
 * True while the controller has not acted on the latest spec, has fewer ready agents than
 * `poolMin`, or has launched agents that do not answer yet. A pool that is scaling down also has
 * agents that are not ready (draining ones); a caller waits on it only until its own deadline.
 */
export function poolIsComingUp(pool: PoolDetails): boolean {
  const { status, spec } = pool;
  return (
    status.observedGeneration < status.generation ||
    status.readyAgents < spec.capacity.poolMin ||
    status.currentAgents > status.readyAgents
  );
}

/** Why no agent of a pool could take a sandbox: an O(n) pass over the pool, paid only when placement failed. */
import type { AgentState } from "./agent-state.ts";
import type { NoFitTally } from "./no-fit-message.ts";
import type { PoolIndexes } from "./pool-index.ts";
import type { PortBook } from "./port-book.ts";

/** The placement that failed. */
export interface FailedPlacement {
  /** How the message names the sandbox. */
  name: string;
  namespace: string;
  pool: string;
  ports: readonly number[];
  avoid: ReadonlySet<string> | undefined;
  /** Set when only agents with this image cached were candidates. */
  requiredImage: string | undefined;
}

/** Counts every agent of the pool under the first filter that rejected it (see NoFitTally). */
export function tallyNoFit(failed: FailedPlacement, pools: PoolIndexes, ports: PortBook): NoFitTally {
  const tally: NoFitTally = {
    key: failed.name,
    namespace: failed.namespace,
    pool: failed.pool,
    total: 0,
    avoided: 0,
    unhealthy: 0,
    draining: 0,
    full: 0,
    fullSlotsUsed: 0,
    fullSlotsTotal: 0,
    portBlocked: 0,
    portHits: new Map(failed.ports.map((port) => [port, 0])),
    poolElsewhere: [],
  };
  const pool = pools.get(failed.namespace, failed.pool);
  if (pool === undefined) {
    tally.poolElsewhere = [...pools.all()]
      .filter((p) => p.ref.pool === failed.pool)
      .map((p) => p.ref.namespace)
      .sort();
    return tally;
  }
  for (const agent of pool.agents) {
    // With the image required, agents without it are not candidates at all.
    if (failed.requiredImage !== undefined && !agent.images.has(failed.requiredImage)) continue;
    tally.total++;
    countAgent(tally, agent, failed, ports);
  }
  return tally;
}

function countAgent(tally: NoFitTally, agent: AgentState, failed: FailedPlacement, ports: PortBook): void {
  if (failed.avoid?.has(agent.info.id)) tally.avoided++;
  else if (!agent.info.healthy) tally.unhealthy++;
  else if (agent.info.draining) tally.draining++;
  else if (agent.keys.size >= agent.info.capacity) {
    tally.full++;
    tally.fullSlotsUsed += agent.keys.size;
    tally.fullSlotsTotal += agent.info.capacity;
  } else {
    const taken = ports.taken(agent.info.address, failed.ports);
    if (taken.length === 0) return;
    tally.portBlocked++;
    const hits = tally.portHits as Map<number, number>;
    for (const port of taken) hits.set(port, (hits.get(port) ?? 0) + 1);
  }
}

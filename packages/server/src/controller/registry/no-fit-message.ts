/** Words the RESOURCE_EXHAUSTED message that says why no agent of a pool could take a sandbox. */

/**
 * Every agent of the pool counted under the first filter that rejected it, in the order the
 * registry applies them: avoided, unhealthy, draining, full, ports.
 */
export interface NoFitTally {
  /** How the sandbox is named in the message (`namespace/name`, or its key). */
  key: string;
  namespace: string;
  pool: string;
  /** Agents registered in the pool. */
  total: number;
  avoided: number;
  unhealthy: number;
  draining: number;
  full: number;
  /** Slots used and owned by the agents counted as full. */
  fullSlotsUsed: number;
  fullSlotsTotal: number;
  /** Agents that passed every other filter but hold a requested port on their address. */
  portBlocked: number;
  /** For each requested port, on how many of the `portBlocked` agents it is in use. */
  portHits: ReadonlyMap<number, number>;
  /** Other namespaces that have agents in a pool of this name, to catch a wrong namespace. */
  poolElsewhere: readonly string[];
}

/** The message, `cannot place sandbox "<key>" in pool "<pool>" of namespace "<ns>": <reason>`. */
export function noFitMessage(t: NoFitTally): string {
  return `cannot place sandbox "${t.key}" in pool "${t.pool}" of namespace "${t.namespace}": ${reason(t)}`;
}

function reason(t: NoFitTally): string {
  if (t.total === 0) {
    const hint =
      t.poolElsewhere.length === 0
        ? ""
        : `; a pool of that name has agents in namespace ${t.poolElsewhere.map((ns) => `"${ns}"`).join(", ")}`;
    return `no agent is registered in it${hint}`;
  }
  const all = t.total === 1 ? "its only agent is" : `all ${t.total} agents are`;
  if (t.avoided === t.total) return `${all} excluded by avoidAgents`;
  if (t.unhealthy === t.total) return `${all} unhealthy`;
  if (t.draining === t.total) return `${all} draining`;
  if (t.full === t.total) return `${all} full (${t.fullSlotsUsed} of ${t.fullSlotsTotal} slots used)`;
  if (t.portBlocked === t.total) return portsEverywhere(t);
  const parts: string[] = [];
  if (t.unhealthy > 0) parts.push(`${t.unhealthy} unhealthy`);
  if (t.draining > 0) parts.push(`${t.draining} draining`);
  if (t.full > 0) parts.push(`${t.full} full`);
  if (t.avoided > 0) parts.push(`${t.avoided} excluded by avoidAgents`);
  if (t.portBlocked > 0) parts.push(portsPart(t));
  return `none of its ${t.total} agents fits: ${parts.join(", ")}`;
}

// Every agent was otherwise eligible: name the port(s) that block them.
function portsEverywhere(t: NoFitTally): string {
  const where = t.portBlocked === 1 ? "its only eligible agent" : `all ${t.portBlocked} eligible agents`;
  const everywhere = [...t.portHits].filter(([, hits]) => hits === t.portBlocked).map(([port]) => port);
  if (everywhere.length === 1) return `port ${everywhere[0]} is in use on ${where}`;
  if (everywhere.length > 1) return `ports ${everywhere.join(", ")} are in use on ${where}`;
  // Only reachable with two or more agents: on a single one every taken port blocks "everywhere".
  return `every one of the ${t.portBlocked} eligible agents has a requested port in use (${hitList(t)})`;
}

function portsPart(t: NoFitTally): string {
  const used = [...t.portHits].filter(([, hits]) => hits > 0);
  if (used.length === 1) return `port ${used[0]?.[0]} in use on ${t.portBlocked}`;
  return `requested ports in use on ${t.portBlocked} (${hitList(t)})`;
}

function hitList(t: NoFitTally): string {
  return [...t.portHits]
    .filter(([, hits]) => hits > 0)
    .map(([port, hits]) => `${port} on ${hits}`)
    .join(", ");
}

/**
 * Verdicts on what isolated sandbox networks leave behind when their agent is gone (pure): network
 * namespaces no container uses, and subnet claims of agents that no longer run (with the bridge and
 * firewall tables named after them). An agent that runs owns its subnet: its prepared namespaces
 * belong to no container yet, so nothing of a live agent's subnet is ever judged here.
 */
import { type Cidr, cidrContains } from "@fast-sandbox/api";

/** A namespace under /var/run/netns named after a sandbox address (`fsb-<address>`). */
export interface NetnsFacts {
  address: number;
  modifiedAtMs: number;
}

/** A subnet claim file (network/subnet-claim.ts) and whether its holder still runs. */
export interface ClaimFacts {
  subnet: Cidr;
  alive: boolean;
  modifiedAtMs: number;
}

export interface NetworkFacts {
  namespaces: readonly NetnsFacts[];
  claims: readonly ClaimFacts[];
  /** Addresses the node's containers are labelled with (sandboxes and prewarmed containers). */
  inUse: ReadonlySet<number>;
  now: number;
}

/** What to remove: namespaces by address, claims by subnet. */
export interface NetworkSweepPlan {
  namespaces: number[];
  claims: Cidr[];
}

/**
 * A namespace goes once no container names its address, the subnet it is in was claimed (in this
 * state directory) by an agent that is gone, and it is older than `graceMs` (a create may be between
 * taking it and labelling its container). One in no claimed subnet is left alone: nothing proves
 * it ours (another state directory's agents, or another containerd namespace's, may own it). A claim goes
 * once its holder is gone, no container has an address in its subnet and every namespace of its
 * subnet goes too, so the bridge and tables it names carry nothing any more.
 */
export function planNetworkSweep(facts: NetworkFacts, options: { graceMs: number }): NetworkSweepPlan {
  const claimOf = (address: number) => facts.claims.find((c) => cidrContains(c.subnet, address));
  const old = (modifiedAtMs: number) => facts.now - modifiedAtMs >= options.graceMs;
  const namespaces = facts.namespaces
    .filter((n) => {
      const claim = claimOf(n.address);
      return claim !== undefined && !claim.alive && !facts.inUse.has(n.address) && old(n.modifiedAtMs);
    })
    .map((n) => n.address);
  const going = new Set(namespaces);
  const claims = facts.claims
    .filter(
      (c) =>
        !c.alive &&
        old(c.modifiedAtMs) &&
        ![...facts.inUse].some((a) => cidrContains(c.subnet, a)) &&
        facts.namespaces.every((n) => !cidrContains(c.subnet, n.address) || going.has(n.address)),
    )
    .map((c) => c.subnet);
  return { namespaces, claims };
}

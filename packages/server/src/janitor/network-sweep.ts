/**
 * The janitor's pass over isolated sandbox networks: reads the facts (namespaces, subnet claims, the
 * addresses containers are labelled with), plans with network-leftovers.ts and removes what the plan
 * says. A claim's bridge and firewall tables go with it; where the agent ran in a Pod of its own,
 * those went with the Pod's network namespace already and their removal finds nothing.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { type Cidr, formatCidr, formatIpv4, Labels, parseIpv4 } from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { ContainerStatus } from "../containerd/container-runtime.ts";
import { tryAcquireLockFile } from "../core/lock-file.ts";
import type { NetTools } from "../network/net-tools.ts";
import { NETNS_DIR } from "../network/netns-pool.ts";
import { dropRuleset } from "../network/nft-ruleset.ts";
import { readSubnetClaims } from "../network/subnet-claim.ts";
import { addressOfNetns, netnsNameOf, subnetLayout } from "../network/subnet-layout.ts";
import { type NetworkFacts, planNetworkSweep } from "./network-leftovers.ts";

/** Options of {@link sweepNetworks}. */
export interface NetworkSweepOptions {
  /** Where the node's agents claim their subnets (their `--network-state-dir`). */
  stateDir: string;
  tools: NetTools;
  /** Where namespaces are mounted; {@link NETNS_DIR} unless a test says otherwise. */
  netnsDir?: string;
}

/** What one pass removed (or would have, in a dry run). */
export interface NetworkSweepResult {
  namespaces: string[];
  subnets: string[];
}

/**
 * One pass. `containers` are the node's containers as the scan listed them; a container made after
 * that list is protected by the grace (`graceMs`), as the scan's other leftovers are.
 */
export async function sweepNetworks(
  options: NetworkSweepOptions,
  containers: readonly ContainerStatus[],
  context: { now: number; graceMs: number; dryRun: boolean; logger: Logger },
): Promise<NetworkSweepResult> {
  const facts = await networkFacts(options, containers, context.now);
  const plan = planNetworkSweep(facts, { graceMs: context.graceMs });
  const result: NetworkSweepResult = {
    namespaces: plan.namespaces.map(netnsNameOf),
    subnets: plan.claims.map(formatCidr),
  };
  if (context.dryRun) return result;
  for (const address of plan.namespaces) {
    await options.tools.ip([`netns del ${netnsNameOf(address)}`]);
    context.logger.info({ netns: netnsNameOf(address) }, "removed a network namespace no sandbox uses");
  }
  for (const subnet of plan.claims) await removeClaim(options, subnet, context.logger);
  return result;
}

async function networkFacts(
  options: NetworkSweepOptions,
  containers: readonly ContainerStatus[],
  now: number,
): Promise<NetworkFacts> {
  const dir = options.netnsDir ?? NETNS_DIR;
  const names = await readdir(dir).catch(() => [] as string[]);
  const namespaces = [];
  for (const name of names) {
    const address = addressOfNetns(name);
    if (address === undefined) continue;
    const modifiedAtMs = await stat(path.join(dir, name)).then(
      (s) => s.mtimeMs,
      () => now,
    );
    namespaces.push({ address, modifiedAtMs });
  }
  const claims = [];
  for (const claim of readSubnetClaims(options.stateDir)) {
    const modifiedAtMs = await stat(claim.file).then(
      (s) => s.mtimeMs,
      () => now,
    );
    claims.push({ subnet: claim.subnet, alive: claim.alive, modifiedAtMs });
  }
  return { namespaces, claims, inUse: labelledAddresses(containers), now };
}

/** The addresses in containers' network labels (`isolated@10.212.5.7`). */
function labelledAddresses(containers: readonly ContainerStatus[]): Set<number> {
  const addresses = new Set<number>();
  for (const { labels } of containers) {
    const at = labels[Labels.Network]?.split("@")[1];
    const address = at === undefined ? undefined : parseIpv4(at);
    if (address !== undefined) addresses.add(address);
  }
  return addresses;
}

/**
 * Drops a gone agent's tables and bridge, then its claim. The janitor takes the claim over first
 * (as an agent would), so an agent restarting meanwhile either gets it back before (and this finds
 * it alive and leaves everything) or finds it taken and claims another subnet.
 */
async function removeClaim(options: NetworkSweepOptions, subnet: Cidr, log: Logger): Promise<void> {
  const current = readSubnetClaims(options.stateDir).find(
    (c) => c.subnet.base === subnet.base && c.subnet.bits === subnet.bits,
  );
  if (!current || current.alive) return;
  const attempt = tryAcquireLockFile(current.file, { agentId: "fsb-janitor" });
  if (!attempt.lock) return;
  const layout = subnetLayout(subnet);
  try {
    await options.tools.nft(dropRuleset(layout));
    await options.tools.ip([`link del ${layout.bridge}`]).catch(() => {});
  } finally {
    attempt.lock.release();
  }
  log.info(
    { subnet: formatCidr(subnet), gateway: formatIpv4(layout.gateway) },
    "removed the network of an agent that is gone",
  );
}

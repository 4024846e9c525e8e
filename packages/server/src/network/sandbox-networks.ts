/**
 * The isolated networks of one agent's sandboxes: a claimed subnet, a bridge on it, the firewall
 * table that confines it, and a pool of namespaces ready to hand out. The agent opens it at start
 * with the sandboxes that survived, takes a namespace for each create, and releases it at delete.
 */
import { writeFile } from "node:fs/promises";
import { type Cidr, formatCidr, formatIpv4, parseCidr } from "@fast-sandbox/api";
import type { Logger } from "pino";
import { Firewall, type Membership } from "./firewall.ts";
import type { NetTools } from "./net-tools.ts";
import { NetnsPool, type PreparedNetns } from "./netns-pool.ts";
import { claimSubnet, type SubnetClaim } from "./subnet-claim.ts";
import { type SubnetLayout, subnetLayout } from "./subnet-layout.ts";

export type { DeniedCount, Membership } from "./firewall.ts";
export { type PreparedNetns, preparedNetnsOf } from "./netns-pool.ts";

/** No sandbox reaches these, whatever its rules: "this" network, loopback, link-local (cloud metadata), multicast, reserved. */
const NEVER = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4"];
/** Refused unless a sandbox's rules allow them: private and shared address space, where clusters and VPCs live. */
export const DEFAULT_RESTRICTED = [
  "10.0.0.0/8",
  "100.64.0.0/10",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "198.18.0.0/15",
];

/** Options of {@link SandboxNetworks.open}. */
export interface SandboxNetworksOptions {
  agentId: string;
  /** Where the agents of this host claim their subnets. */
  stateDir: string;
  /** The range agents carve subnets from, and the size of each. */
  range: Cidr;
  bits: number;
  /** Extra destinations refused unless allowed, beside {@link DEFAULT_RESTRICTED} and the node's routes. */
  restricted: readonly Cidr[];
  /** Namespaces kept ready. */
  poolSize: number;
  /** The rules a namespace gets while it waits to be taken: the agent's pool's defaults (see NetnsPoolOptions.onPrepared). */
  defaultMembership?: Membership;
  tools: NetTools;
  logger: Logger;
}

export class SandboxNetworks {
  readonly layout: SubnetLayout;
  readonly #claim: SubnetClaim;
  readonly #tools: NetTools;
  readonly #firewall: Firewall;
  readonly #pool: NetnsPool;
  readonly #inUse = new Set<number>();

  private constructor(claim: SubnetClaim, firewall: Firewall, pool: NetnsPool, tools: NetTools) {
    this.layout = subnetLayout(claim.subnet);
    this.#claim = claim;
    this.#firewall = firewall;
    this.#pool = pool;
    this.#tools = tools;
  }

  /**
   * Claims the subnet, makes the bridge, writes the firewall with the sandboxes still running
   * (`survivors`, by address; a prewarmed container's namespace has no rules yet) and starts
   * preparing namespaces. Namespaces of the subnet that no
   * survivor uses are removed: an earlier run left them.
   */
  static async open(
    options: SandboxNetworksOptions,
    survivors: ReadonlyMap<number, Membership | undefined>,
  ): Promise<SandboxNetworks> {
    const { tools, logger } = options;
    const routes = await nodeRoutes(tools);
    const claim = claimSubnet({ ...options, routes: routes.map((r) => r.cidr) });
    const layout = subnetLayout(claim.subnet);
    const log = logger.child({ component: "network", subnet: formatCidr(claim.subnet) });
    try {
      if (claim.previousHolder !== undefined) {
        log.info({ previousHolder: claim.previousHolder }, "took over the subnet of an agent that is gone");
        await tools.ip([`link del ${layout.bridge}`]).catch(() => {});
      }
      await writeFile("/proc/sys/net/ipv4/ip_forward", "1\n");
      await ensureBridge(tools, layout);
      const never = [...NEVER.map((c) => parseCidr(c, "never")), options.range];
      // The node's own networks, but not the sandbox bridges: those are in `never` already.
      const nodeNetworks = routes.filter((r) => !r.dev?.startsWith("fsbr")).map((r) => r.cidr);
      const restricted = [
        ...DEFAULT_RESTRICTED.map((c) => parseCidr(c, "restricted")),
        ...nodeNetworks,
        ...options.restricted,
      ];
      const firewall = new Firewall({ layout, never, restricted }, tools);
      const ruled = [...survivors].filter((entry): entry is [number, Membership] => entry[1] !== undefined);
      await firewall.write(new Map(ruled));
      const { defaultMembership } = options;
      const pool = new NetnsPool({
        layout,
        tools,
        size: options.poolSize,
        logger: log,
        ...(defaultMembership
          ? { onPrepared: (netns) => firewall.add(netns.address, defaultMembership) }
          : {}),
      });
      await pool.start(new Set(survivors.keys()));
      const networks = new SandboxNetworks(claim, firewall, pool, tools);
      for (const address of survivors.keys()) networks.#inUse.add(address);
      log.info({ bridge: layout.bridge, gateway: formatIpv4(layout.gateway) }, "sandbox network ready");
      return networks;
    } catch (err) {
      // Sandboxes that survived still use the subnet: keep it ours, so no other agent takes it.
      if (survivors.size === 0) claim.lock.release();
      throw err;
    }
  }

  /**
   * A namespace for a new sandbox: under the default rules when the agent gave some (it waited in
   * their group), else reaching nothing; {@link allow} gives it the sandbox's own.
   */
  async acquire(): Promise<PreparedNetns> {
    const netns = await this.#pool.acquire();
    this.#inUse.add(netns.address);
    return netns;
  }

  /** Lets the sandbox network at `address` reach what `membership` allows. */
  async allow(netns: PreparedNetns, membership: Membership): Promise<void> {
    await this.#firewall.add(netns.address, membership);
  }

  /** Removes a sandbox's namespace (its veth goes with it) and its rules. Idempotent. */
  async release(address: number): Promise<void> {
    await this.#firewall.remove(address);
    await this.#pool.release(address);
    this.#inUse.delete(address);
  }

  get readyCount(): number {
    return this.#pool.readyCount;
  }

  /** Holds the background refill back while a create or exec runs (see NetnsPool.hold). */
  hold(): () => void {
    return this.#pool.hold();
  }

  deniedCounts(): ReturnType<Firewall["deniedCounts"]> {
    return this.#firewall.deniedCounts();
  }

  /**
   * Removes the ready namespaces. With no sandbox network left, the bridge, the table and the claim
   * go too; otherwise they stay for the sandboxes that keep running (the agent restarting, say).
   */
  async close(): Promise<void> {
    await this.#pool.close();
    if (this.#inUse.size > 0) return;
    await this.#firewall.drop();
    await this.#tools.ip([`link del ${this.layout.bridge}`]).catch(() => {});
    this.#claim.lock.release();
  }
}

/** The networks the node routes to, but for the default route: a subnet must not overlap them. */
async function nodeRoutes(tools: NetTools): Promise<{ cidr: Cidr; dev: string | undefined }[]> {
  const listing = await tools.query("ip", ["-j", "route", "show", "table", "main"]);
  const routes = JSON.parse(listing) as Array<{ dst?: string; dev?: string }>;
  const found: { cidr: Cidr; dev: string | undefined }[] = [];
  for (const { dst, dev } of routes) {
    if (!dst || dst === "default") continue;
    try {
      found.push({ cidr: parseCidr(dst, "route"), dev });
    } catch {
      // A route the kernel prints in a form we do not parse (none known) is not one to avoid.
    }
  }
  return found;
}

async function ensureBridge(tools: NetTools, layout: SubnetLayout): Promise<void> {
  const { bridge, bridgeMac, gateway, subnet } = layout;
  const exists = await tools.query("ip", ["-j", "link", "show", "dev", bridge]).then(
    () => true,
    () => false,
  );
  if (!exists) await tools.ip([`link add ${bridge} type bridge`]);
  const addresses = JSON.parse(await tools.query("ip", ["-j", "addr", "show", "dev", bridge])) as Array<{
    addr_info?: Array<{ local?: string }>;
  }>;
  const hasGateway = addresses.some((a) => a.addr_info?.some((i) => i.local === formatIpv4(gateway)));
  if (!hasGateway) await tools.ip([`addr add ${formatIpv4(gateway)}/${subnet.bits} dev ${bridge}`]);
  // Also on a bridge an earlier run made: its address must not move (see SubnetLayout.bridgeMac).
  await tools.ip([`link set ${bridge} address ${bridgeMac}`, `link set ${bridge} up`]);
}

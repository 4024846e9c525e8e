/**
 * Everything an agent's isolated network is named after, derived from its subnet alone (pure): the
 * bridge, the firewall table, each sandbox's namespace and host-side veth. Because the names follow
 * from the subnet and the address, a restarted agent, or the janitor after an agent that is gone,
 * finds every piece again without a record of its own.
 */
import { blockSize, type Cidr, formatIpv4, parseIpv4 } from "@fast-sandbox/api";

/** One agent's subnet and the names of what lives on it. */
export interface SubnetLayout {
  subnet: Cidr;
  /** The bridge's address: every sandbox's default route. */
  gateway: number;
  /** The bridge every sandbox's veth joins (≤ 15 characters, the kernel's limit). */
  bridge: string;
  /**
   * The bridge's MAC address, set once it exists. Left to the kernel, a bridge takes the lowest MAC
   * of its ports, so it changes as namespaces come and go; gVisor's network stack keeps the
   * gateway's old one in its neighbour cache and sends its sandbox's packets nowhere (a runc
   * sandbox's kernel re-resolves, after a while). Locally administered, with the subnet's address
   * in its last four bytes.
   */
  bridgeMac: string;
  /** The nftables table (family inet) that holds this subnet's rules. */
  table: string;
}

/** Prefix of every network namespace a sandbox network lives in (under /var/run/netns). */
export const NETNS_PREFIX = "fsb-";

/** The subnet sizes an agent can have: nibble-aligned, so {@link vethPattern} works, from 65,534 addresses down to 14. */
export const SUBNET_BITS: readonly number[] = [16, 20, 24, 28];

export function subnetLayout(subnet: Cidr): SubnetLayout {
  const hex = hex8(subnet.base);
  const mac = `02:fb:${hex.match(/../g)?.join(":")}`;
  return { subnet, gateway: subnet.base + 1, bridge: `fsbr${hex}`, bridgeMac: mac, table: `fsb_${hex}` };
}

/** The addresses sandboxes get: all but the network, the gateway and the broadcast address. */
export function sandboxAddressRange(layout: SubnetLayout): { first: number; last: number } {
  const { base, bits } = layout.subnet;
  return { first: base + 2, last: base + blockSize(bits) - 2 };
}

/** `fsb-10.212.5.7`: the namespace of the sandbox network with that address. */
export function netnsNameOf(address: number): string {
  return `${NETNS_PREFIX}${formatIpv4(address)}`;
}

/** The address a namespace name stands for, or undefined for a name that is none of ours. */
export function addressOfNetns(name: string): number | undefined {
  return name.startsWith(NETNS_PREFIX) ? parseIpv4(name.slice(NETNS_PREFIX.length)) : undefined;
}

/**
 * The MAC of the sandbox's own interface (`eth0` in its namespace): fixed by its address, so the
 * bridge and the host know it without learning it from frames a sandbox sends.
 */
export function sandboxMacOf(address: number): string {
  const bytes = [24, 16, 8, 0].map((shift) =>
    (Math.floor(address / 2 ** shift) % 256).toString(16).padStart(2, "0"),
  );
  return `02:fc:${bytes.join(":")}`;
}

/** `fsv0ad40507`: the host side of the veth of the sandbox network with that address. */
export function vethNameOf(address: number): string {
  return `fsv${hex8(address)}`;
}

/**
 * An nft interface pattern that matches the veths of this subnet and no other agent's: the names
 * are the address in hex, and subnets are nibble-aligned ({@link SUBNET_BITS}), so the subnet's
 * share of the digits is a prefix of all of them.
 */
export function vethPattern(layout: SubnetLayout): string {
  return `fsv${hex8(layout.subnet.base).slice(0, layout.subnet.bits / 4)}*`;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

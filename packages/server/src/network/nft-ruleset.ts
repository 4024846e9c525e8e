/**
 * The nftables rules that confine an agent's isolated sandboxes, as `nft -f` text (pure).
 *
 * One table per agent subnet (family inet, so IPv6 from a sandbox is refused by the same rules):
 * - input: from the bridge, only replies to connections the host opened reach the host. That keeps
 *   sandboxes from the host's addresses, its loopback services, the agent's and the controller's APIs.
 * - forward: replies to sandboxes pass; traffic from a sandbox goes through the chain of its egress
 *   group, found by source address in a verdict map; an address in no group (a namespace not handed
 *   out yet, a prewarmed container) reaches nothing. Anything else routed onto the bridge is refused,
 *   so another agent's sandboxes cannot reach these either.
 * - postrouting: allowed egress is masqueraded to the host's address.
 * A sandbox has a /32 address and reaches everything, even another sandbox on the same bridge, through
 * its gateway, so all of its traffic crosses these hooks. A second table (family bridge) keeps it
 * honest at layer 2: a frame from a sandbox's port must carry that sandbox's own address (no
 * spoofing another's, whose rules may allow more), and no IPv6 leaves a port. The bridge ports are
 * isolated as well (netns-pool.ts), so no frame goes from one sandbox straight to another.
 *
 * A denial is a TCP reset or an ICMP "administratively prohibited", so a client fails at once
 * instead of waiting out a timeout, and is counted per egress group and reason.
 */
import { type Cidr, coverOf, formatCidr, formatIpv4 } from "@fast-sandbox/api";
import { type SubnetLayout, sandboxMacOf, vethNameOf, vethPattern } from "./subnet-layout.ts";

/** Where a sandbox may connect to, beyond what no sandbox ever reaches. */
export interface EgressRules {
  /** For destinations no list names. */
  defaultAction: "allow" | "deny";
  /** Allowed even when default-denied (the node's networks, private ranges). Checked after `deny`. */
  allow: readonly Cidr[];
  deny: readonly Cidr[];
}

/** The rules every sandbox of the agent shares. */
export interface BaseRules {
  layout: SubnetLayout;
  /** Never reachable, whatever a sandbox's rules say: link-local, loopback, every sandbox range. */
  never: readonly Cidr[];
  /** Refused unless a sandbox's rules allow them: private ranges, the node's own networks. */
  restricted: readonly Cidr[];
}

/** Why a connection was refused; each is a counter per egress group. */
export const DENY_REASONS = ["host", "never", "policy"] as const;
export type DenyReason = (typeof DENY_REASONS)[number];

/** The counter of one reason in one group; groups are numbered by the agent (see egress-groups.ts). */
export function counterName(reason: DenyReason, group: number): string {
  return `${reason}_${group}`;
}

/**
 * The whole table, replacing any earlier one in one transaction: the `table {}` line makes the
 * delete valid when there was none, and nft applies a file atomically, so no packet ever sees a
 * half-written rule set.
 */
export function fullRuleset(
  base: BaseRules,
  groups: ReadonlyMap<number, EgressRules>,
  members: ReadonlyMap<number, number>,
): string {
  const { table, bridge, subnet } = base.layout;
  const lines = [
    `table inet ${table} {}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    set("never", base.never),
    set("restricted", base.restricted),
    "  map inbound { type ipv4_addr : verdict; }",
    "  map outbound { type ipv4_addr : verdict; }",
    "  chain refuse {",
    "    meta l4proto tcp reject with tcp reset",
    "    reject with icmpx admin-prohibited",
    "  }",
    "  chain input {",
    "    type filter hook input priority filter - 5; policy accept;",
    `    iifname "${bridge}" ct state established,related accept`,
    `    iifname "${bridge}" meta nfproto ipv4 ip saddr vmap @inbound`,
    `    iifname "${bridge}" jump refuse`,
    "  }",
    "  chain forward {",
    "    type filter hook forward priority filter - 5; policy accept;",
    `    iifname "${bridge}" ct state established,related accept`,
    `    oifname "${bridge}" ct state established,related accept`,
    // A sandbox's own rules first, even toward another sandbox, so the refusal is counted.
    `    iifname "${bridge}" meta nfproto ipv4 ip saddr vmap @outbound`,
    `    iifname "${bridge}" jump refuse`,
    `    oifname "${bridge}" jump refuse`,
    "  }",
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    ip saddr ${formatCidr(subnet)} oifname != "${bridge}" masquerade`,
    "  }",
    "}",
  ];
  lines.push(...portTable(base.layout));
  for (const [group, rules] of groups) lines.push(...groupLines(table, group, rules));
  for (const [address, group] of members) lines.push(...memberLines(table, address, group));
  return `${lines.join("\n")}\n`;
}

/** Removes both tables (the `{}` lines make the deletes valid when they are gone already). */
export function dropRuleset(layout: SubnetLayout): string {
  const { table } = layout;
  return `table inet ${table} {}\ndelete table inet ${table}\ntable bridge ${table} {}\ndelete table bridge ${table}\n`;
}

/** The layer-2 table: frames from this subnet's ports carry their own sandbox's address, or are dropped. */
function portTable(layout: SubnetLayout): string[] {
  const { table } = layout;
  const ports = `iifname "${vethPattern(layout)}"`;
  return [
    `table bridge ${table} {}`,
    `delete table bridge ${table}`,
    `table bridge ${table} {`,
    "  set bound { type ifname . ether_addr . ipv4_addr; }",
    "  chain prerouting {",
    "    type filter hook prerouting priority filter; policy accept;",
    // An allow-list: IPv4 and ARP from the port's own MAC and address pass; everything else from a
    // sandbox port (another's address or MAC, IPv6, VLAN-tagged frames, other ethertypes) is dropped.
    `    ${ports} ether type ip iifname . ether saddr . ip saddr @bound accept`,
    `    ${ports} ether type arp iifname . ether saddr . arp saddr ip @bound iifname . arp saddr ether . arp saddr ip @bound accept`,
    `    ${ports} drop`,
    "  }",
    "}",
  ];
}

/** Adds egress group `group`: its counters and the two chains its members' traffic jumps to. */
export function groupLines(table: string, group: number, rules: EgressRules): string[] {
  const counters = DENY_REASONS.map((reason) => `add counter inet ${table} ${counterName(reason, group)}`);
  const policy = `counter name "${counterName("policy", group)}" jump refuse`;
  const rule = (body: string) => `add rule inet ${table} out_${group} ${body}`;
  return [
    ...counters,
    `add chain inet ${table} in_${group}`,
    `add rule inet ${table} in_${group} counter name "${counterName("host", group)}" jump refuse`,
    `add chain inet ${table} out_${group}`,
    rule(`ip daddr @never counter name "${counterName("never", group)}" jump refuse`),
    ...(rules.deny.length > 0 ? [rule(`ip daddr ${elements(rules.deny)} ${policy}`)] : []),
    ...(rules.allow.length > 0 ? [rule(`ip daddr ${elements(rules.allow)} accept`)] : []),
    rule(`ip daddr @restricted ${policy}`),
    rule(rules.defaultAction === "allow" ? "accept" : policy),
  ];
}

/** Puts the sandbox at `address` into `group`. */
export function memberLines(table: string, address: number, group: number): string[] {
  const ip = formatIpv4(address);
  return [
    `add element bridge ${table} bound { "${vethNameOf(address)}" . ${sandboxMacOf(address)} . ${ip} }`,
    `add element inet ${table} inbound { ${ip} : jump in_${group} }`,
    `add element inet ${table} outbound { ${ip} : jump out_${group} }`,
  ];
}

/** Takes the sandbox at `address` out of its group: its address reaches nothing again. */
export function removeMemberLines(table: string, address: number): string[] {
  const ip = formatIpv4(address);
  return [
    `delete element bridge ${table} bound { "${vethNameOf(address)}" . ${sandboxMacOf(address)} . ${ip} }`,
    `delete element inet ${table} inbound { ${ip} }`,
    `delete element inet ${table} outbound { ${ip} }`,
  ];
}

function set(name: string, cidrs: readonly Cidr[]): string {
  const body = cidrs.length > 0 ? ` elements = ${elements(cidrs)};` : "";
  return `  set ${name} { type ipv4_addr; flags interval;${body} }`;
}

function elements(cidrs: readonly Cidr[]): string {
  return `{ ${coverOf(cidrs).map(formatCidr).join(", ")} }`;
}

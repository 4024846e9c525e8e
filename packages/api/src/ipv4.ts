/** IPv4 addresses and CIDR blocks as numbers, for the agent's subnet, IPAM and firewall rules (pure). */
import { invalidArgument } from "./errors.ts";

/** A CIDR block: `base` is the network address (host bits zero), `bits` the prefix length. */
export interface Cidr {
  base: number;
  bits: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** The address as an unsigned 32-bit number, or undefined when `text` is no dotted quad. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIpv4(address: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join(".");
}

/**
 * Parses `a.b.c.d/n` (a bare address is a /32). Host bits must be zero: `10.0.0.5/24` is refused
 * rather than silently widened, since a rule meant for one host would then cover 256.
 */
export function parseCidr(text: string, field: string): Cidr {
  const [address = "", prefix, ...rest] = text.trim().split("/");
  const base = parseIpv4(address);
  const bits = prefix === undefined ? 32 : /^\d{1,2}$/.test(prefix) ? Number(prefix) : Number.NaN;
  if (base === undefined || rest.length > 0 || !(bits >= 0 && bits <= 32)) {
    throw invalidArgument(field, `"${text}" is not an IPv4 CIDR such as 10.0.0.0/8`);
  }
  if (base % blockSize(bits) !== 0) {
    throw invalidArgument(
      field,
      `"${text}" has host bits set; the block is ${formatCidr({ base: base - (base % blockSize(bits)), bits })}`,
    );
  }
  return { base, bits };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.bits}`;
}

/** How many addresses the block holds. */
export function blockSize(bits: number): number {
  return 2 ** (32 - bits);
}

export function cidrContains(cidr: Cidr, address: number): boolean {
  return address >= cidr.base && address < cidr.base + blockSize(cidr.bits);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b.base) || cidrContains(b, a.base);
}

/** The `index`-th block of `bits` inside `range` (index 0 is the range's first). */
export function subBlock(range: Cidr, bits: number, index: number): Cidr {
  return { base: range.base + index * blockSize(bits), bits };
}

/**
 * The blocks without those another one covers, in address order. CIDR blocks either nest or are
 * disjoint, so this is a minimal cover, and nft refuses a set whose intervals overlap.
 */
export function coverOf(cidrs: readonly Cidr[]): Cidr[] {
  const sorted = [...cidrs].sort((a, b) => a.base - b.base || a.bits - b.bits);
  const cover: Cidr[] = [];
  for (const cidr of sorted) {
    const last = cover.at(-1);
    if (last && cidrContains(last, cidr.base)) continue;
    cover.push(cidr);
  }
  return cover;
}

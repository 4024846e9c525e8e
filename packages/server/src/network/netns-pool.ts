/**
 * Network namespaces prepared ahead of demand, so a create in `isolated` mode only takes one: making
 * one (namespace, veth pair, address, route) costs two `ip` processes and tens of milliseconds, which
 * must not be on the create path. The pool refills in the background, one namespace at a time, as
 * the prewarm pool does for containers. Addresses are handed out round-robin from the subnet, so an
 * address is not reused right after its sandbox went, when stale neighbour or conntrack entries for
 * it may still linger.
 */
import { readdir } from "node:fs/promises";
import { ErrorCode, FsbError, formatIpv4 } from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { NetTools } from "./net-tools.ts";
import {
  addressOfNetns,
  netnsNameOf,
  type SubnetLayout,
  sandboxAddressRange,
  sandboxMacOf,
  vethNameOf,
} from "./subnet-layout.ts";

/** Where `ip netns add` mounts namespaces, and so where runc opens them. */
export const NETNS_DIR = "/var/run/netns";

/** A namespace with loopback up, a veth to the bridge, an address and a default route. */
export interface PreparedNetns {
  address: number;
  /** Its name under {@link NETNS_DIR}. */
  name: string;
  /** The path a container's spec joins. */
  path: string;
  /** The host side of its veth, a port of the agent's bridge. */
  veth: string;
}

/** The namespace of the sandbox network at `address`: every name follows from the address. */
export function preparedNetnsOf(address: number): PreparedNetns {
  const name = netnsNameOf(address);
  return { address, name, path: `${NETNS_DIR}/${name}`, veth: vethNameOf(address) };
}

/** Options of {@link NetnsPool}. */
export interface NetnsPoolOptions {
  layout: SubnetLayout;
  tools: NetTools;
  /** How many namespaces to keep ready. */
  size: number;
  logger: Logger;
  /**
   * Called on each namespace once made, before it is ready: the agent puts it in the default egress
   * group, so a create with the default rules changes no firewall rule on its way.
   */
  onPrepared?: (netns: PreparedNetns) => Promise<void>;
}

/**
 * A refill waits while creates or execs run (they share the CPU with its `ip` processes), but no
 * longer than this: under a steady stream of them the pool would otherwise never refill.
 */
const MAX_QUIET_WAIT_MS = 1000;
const QUIET_POLL_MS = 10;

export class NetnsPool {
  readonly #layout: SubnetLayout;
  readonly #tools: NetTools;
  readonly #size: number;
  readonly #log: Logger;
  readonly #ready: PreparedNetns[] = [];
  /** Addresses with a namespace: ready, in use, or being made or removed. */
  readonly #taken = new Set<number>();
  #cursor: number;
  #refilling: Promise<void> | undefined;
  #closed = false;
  #holds = 0;
  readonly #onPrepared: ((netns: PreparedNetns) => Promise<void>) | undefined;

  constructor(options: NetnsPoolOptions) {
    this.#layout = options.layout;
    this.#tools = options.tools;
    this.#size = options.size;
    this.#log = options.logger.child({ component: "netns-pool" });
    this.#cursor = sandboxAddressRange(options.layout).first;
    this.#onPrepared = options.onPrepared;
  }

  /** Holds refills back until the returned function is called (a create or exec in flight). */
  hold(): () => void {
    this.#holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds--;
    };
  }

  get readyCount(): number {
    return this.#ready.length;
  }

  /**
   * Marks the addresses sandboxes that survived a restart still use, removes every other namespace
   * of this subnet (left by an earlier run: nothing holds it), and starts filling the pool.
   */
  async start(inUse: ReadonlySet<number>): Promise<void> {
    for (const address of inUse) this.#taken.add(address);
    // Hand out addresses after the survivors', not the ones an earlier run just freed.
    if (inUse.size > 0) this.#cursor = Math.max(...inUse) + 1;
    const stale = (await this.#existing()).filter((address) => !inUse.has(address));
    for (const address of stale) await this.#remove(address);
    if (stale.length > 0)
      this.#log.info({ removed: stale.length }, "removed namespaces left by an earlier run");
    this.#refill();
  }

  /** A ready namespace, or one made now when none is ready; the caller owns it until {@link release}. */
  async acquire(): Promise<PreparedNetns> {
    const ready = this.#ready.shift();
    this.#refill();
    return ready ?? this.#prepare();
  }

  /** Removes a namespace handed out (its veth goes with it) and frees its address. */
  async release(address: number): Promise<void> {
    if (!this.#taken.has(address)) return;
    await this.#remove(address);
  }

  /** Stops refilling and removes the ready namespaces; those handed out stay with their sandboxes. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#refilling;
    for (const netns of this.#ready.splice(0)) await this.#remove(netns.address);
  }

  #refill(): void {
    if (this.#refilling || this.#closed || this.#ready.length >= this.#size) return;
    this.#refilling = (async () => {
      try {
        while (!this.#closed && this.#ready.length < this.#size) {
          await this.#quiet();
          if (this.#closed) break;
          this.#ready.push(await this.#prepare());
        }
      } catch (err) {
        this.#log.warn({ err }, "could not prepare a network namespace; the next create makes its own");
      } finally {
        this.#refilling = undefined;
      }
    })();
  }

  async #quiet(): Promise<void> {
    const until = performance.now() + MAX_QUIET_WAIT_MS;
    while (this.#holds > 0 && performance.now() < until)
      await new Promise((r) => setTimeout(r, QUIET_POLL_MS));
  }

  async #prepare(): Promise<PreparedNetns> {
    const address = this.#nextAddress();
    const name = netnsNameOf(address);
    const veth = vethNameOf(address);
    const { bridge, gateway } = this.#layout;
    const mac = sandboxMacOf(address);
    try {
      await this.#tools.ip([
        `netns add ${name}`,
        `link add ${veth} type veth peer name eth0 address ${mac} netns ${name}`,
        `link set ${veth} master ${bridge}`,
        // Isolated ports forward only to the bridge itself, never to each other: no sandbox reaches
        // another over layer 2, where the firewall's hooks would not see it. No learning and no
        // flooding: the bridge sends a port only frames for its own sandbox's MAC (the static entry
        // below), so no sandbox sees frames meant for an address it does not hold.
        `link set ${veth} type bridge_slave isolated on learning off flood off mcast_flood off`,
        `link set ${veth} up`,
        // The host never asks (ARP) who holds the address, so no sandbox can answer for another's.
        `neigh replace ${formatIpv4(address)} lladdr ${mac} dev ${bridge} nud permanent`,
      ]);
      await this.#tools.bridge([`fdb replace ${mac} dev ${veth} master static`]);
      await this.#tools.ip(
        [
          "link set lo up",
          // A /32 with the gateway on-link: even another sandbox of this subnet is reached through
          // the gateway, where the firewall sees it (nft-ruleset.ts).
          `addr add ${formatIpv4(address)}/32 dev eth0`,
          "link set eth0 up",
          `route add ${formatIpv4(gateway)} dev eth0 scope link`,
          `route add default via ${formatIpv4(gateway)} dev eth0`,
        ],
        name,
      );
      await this.#onPrepared?.(preparedNetnsOf(address));
    } catch (err) {
      await this.#remove(address).catch(() => {});
      throw err;
    }
    return preparedNetnsOf(address);
  }

  /** The next free address after the last one handed out, wrapping around the subnet. */
  #nextAddress(): number {
    const { first, last } = sandboxAddressRange(this.#layout);
    for (let tried = 0; tried <= last - first; tried++) {
      const address = this.#cursor >= first && this.#cursor <= last ? this.#cursor : first;
      this.#cursor = address >= last ? first : address + 1;
      if (!this.#taken.has(address)) {
        this.#taken.add(address);
        return address;
      }
    }
    throw new FsbError(
      ErrorCode.ResourceExhausted,
      `no free address left in the agent's sandbox subnet ${formatIpv4(this.#layout.subnet.base)}/${this.#layout.subnet.bits}`,
    );
  }

  /** Removes the namespace (its veth and forwarding entry go with it) and the host's neighbour entry; frees the address only once gone. */
  async #remove(address: number): Promise<void> {
    this.#taken.add(address);
    await this.#tools.ip([`netns del ${netnsNameOf(address)}`]).catch(async (err: unknown) => {
      // Already gone (removed by hand, or never fully made) is what was wanted.
      if ((await this.#existing()).includes(address)) throw err;
    });
    await this.#tools.ip([`neigh del ${formatIpv4(address)} dev ${this.#layout.bridge}`]).catch(() => {});
    this.#taken.delete(address);
  }

  /** Addresses of this subnet's namespaces that exist now. */
  async #existing(): Promise<number[]> {
    const names = await readdir(NETNS_DIR).catch(() => [] as string[]);
    const { first, last } = sandboxAddressRange(this.#layout);
    return names
      .map(addressOfNetns)
      .filter((address): address is number => address !== undefined && address >= first && address <= last);
  }
}

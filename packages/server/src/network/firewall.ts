/**
 * The agent's nftables table, kept equal to what its sandboxes need. The whole table is written once
 * at start, from the sandboxes that survived a restart; after that each create and delete changes
 * only its own map elements (and, for the first sandbox of a new egress group, the group's chains).
 * Changes that arrive while nft runs are applied together by the next run, so a burst of creates
 * costs a few nft processes rather than one each.
 */
import { coverOf } from "@fast-sandbox/api";
import type { NetTools } from "./net-tools.ts";
import {
  type BaseRules,
  counterName,
  DENY_REASONS,
  type DenyReason,
  dropRuleset,
  type EgressRules,
  fullRuleset,
  groupLines,
  memberLines,
  removeMemberLines,
} from "./nft-ruleset.ts";

/** The pool and rules of one sandbox network. */
export interface Membership {
  pool: string;
  egress: EgressRules;
}

/** Refused connections of one pool for one reason, since the table was written. */
export interface DeniedCount {
  pool: string;
  reason: DenyReason;
  packets: number;
}

interface Change {
  lines: string[];
  done: (err?: unknown) => void;
}

export class Firewall {
  readonly #base: BaseRules;
  readonly #tools: NetTools;
  /** Egress groups by key: sandboxes of the same pool with the same rules share one. */
  readonly #groups = new Map<string, { index: number; pool: string }>();
  readonly #members = new Map<number, number>();
  #nextGroup = 0;
  #queue: Change[] = [];
  #running: Promise<void> | undefined;

  constructor(base: BaseRules, tools: NetTools) {
    this.#base = base;
    this.#tools = tools;
  }

  /** Writes the whole table with these sandboxes in it (at start; replaces any earlier table). */
  async write(members: ReadonlyMap<number, Membership>): Promise<void> {
    const groups = new Map<number, EgressRules>();
    const placed = new Map<number, number>();
    for (const [address, membership] of members) {
      const { index, fresh } = this.#groupOf(membership);
      if (fresh) groups.set(index, membership.egress);
      placed.set(address, index);
      this.#members.set(address, index);
    }
    await this.#tools.nft(fullRuleset(this.#base, groups, placed));
  }

  /** Lets the sandbox at `address` reach what its rules allow. */
  add(address: number, membership: Membership): Promise<void> {
    const table = this.#base.layout.table;
    const { index, fresh } = this.#groupOf(membership);
    // Already there (a prepared namespace is put in the default group ahead): nothing to change.
    if (this.#members.get(address) === index) return Promise.resolve();
    const lines = fresh ? groupLines(table, index, membership.egress) : [];
    const previous = this.#members.get(address);
    if (previous !== undefined) lines.push(...removeMemberLines(table, address));
    this.#members.set(address, index);
    lines.push(...memberLines(table, address, index));
    return this.#apply(lines).catch((err: unknown) => {
      // Not applied (one transaction: all or nothing): the address keeps its earlier group, and a
      // group this change would have made is made again by the next one that needs it.
      if (previous === undefined) this.#members.delete(address);
      else this.#members.set(address, previous);
      if (fresh) this.#groups.delete(groupKey(membership));
      throw err;
    });
  }

  /** The sandbox at `address` reaches nothing from now on. */
  remove(address: number): Promise<void> {
    if (!this.#members.delete(address)) return Promise.resolve();
    return this.#apply(removeMemberLines(this.#base.layout.table, address));
  }

  /** Drops the table: nothing of this subnet is confined or masqueraded any more. */
  async drop(): Promise<void> {
    await this.#tools.nft(dropRuleset(this.#base.layout));
  }

  /** The table's refusal counters summed per pool and reason. */
  async deniedCounts(): Promise<DeniedCount[]> {
    const listing = await this.#tools.query("nft", [
      "-j",
      "list",
      "counters",
      "table",
      "inet",
      this.#base.layout.table,
    ]);
    const packets = countersOf(listing);
    const totals = new Map<string, DeniedCount>();
    for (const { index, pool } of this.#groups.values()) {
      for (const reason of DENY_REASONS) {
        const key = `${pool}\0${reason}`;
        const entry = totals.get(key) ?? { pool, reason, packets: 0 };
        entry.packets += packets.get(counterName(reason, index)) ?? 0;
        totals.set(key, entry);
      }
    }
    return [...totals.values()];
  }

  #groupOf(membership: Membership): { index: number; fresh: boolean } {
    const key = groupKey(membership);
    const known = this.#groups.get(key);
    if (known) return { index: known.index, fresh: false };
    const index = this.#nextGroup++;
    this.#groups.set(key, { index, pool: membership.pool });
    return { index, fresh: true };
  }

  #apply(lines: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ lines, done: (err) => (err === undefined ? resolve() : reject(err)) });
      this.#running ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        await this.#tools.nft(`${batch.flatMap((c) => c.lines).join("\n")}\n`);
        for (const change of batch) change.done();
      } catch (err) {
        // One bad change must not fail the others that shared its transaction: apply them alone, in
        // order (a change may need the group chains an earlier one makes).
        if (batch.length === 1) batch[0]?.done(err);
        else {
          for (const change of batch) {
            await this.#tools.nft(`${change.lines.join("\n")}\n`).then(() => change.done(), change.done);
          }
        }
      }
    }
    this.#running = undefined;
  }
}

/** The same pool with the same rules (in any order) is the same group. */
function groupKey({ pool, egress }: Membership): string {
  const cidrs = (list: EgressRules["allow"]) => coverOf(list).map((c) => `${c.base}/${c.bits}`);
  return JSON.stringify([pool, egress.defaultAction, cidrs(egress.allow), cidrs(egress.deny)]);
}

/** Packets per counter name from `nft -j list counters`. */
function countersOf(json: string): Map<string, number> {
  const packets = new Map<string, number>();
  const parsed = JSON.parse(json) as { nftables?: Array<{ counter?: { name?: string; packets?: number } }> };
  for (const entry of parsed.nftables ?? []) {
    const { name, packets: count } = entry.counter ?? {};
    if (typeof name === "string" && typeof count === "number") packets.set(name, count);
  }
  return packets;
}

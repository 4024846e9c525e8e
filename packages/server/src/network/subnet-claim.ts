/**
 * Which subnet an agent's sandboxes live on. Several agents can run on one host (one per pool, or
 * many in tests), so each claims its own block with a lock file in a directory they share: the
 * claim names the agent, and outlives it, so the same agent restarted gets the same block back and
 * its running sandboxes keep their addresses. A block a live agent holds is never taken; one whose
 * holder is gone is taken only when no unclaimed block is left.
 */
import { mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import {
  blockSize,
  type Cidr,
  cidrsOverlap,
  ErrorCode,
  FsbError,
  formatCidr,
  formatIpv4,
  parseIpv4,
} from "@fast-sandbox/api";
import { isHolderAlive, type LockFile, readLockHolder, tryAcquireLockFile } from "../core/lock-file.ts";

/** Options of {@link claimSubnet}. */
export interface SubnetClaimOptions {
  /** Directory of the claims, shared by every agent of the host. */
  stateDir: string;
  agentId: string;
  /** Blocks are carved out of this range... */
  range: Cidr;
  /** ...this size each. */
  bits: number;
  /** Networks the node routes already (a block overlapping one would shadow it). */
  routes: readonly Cidr[];
}

/** A claimed block; `previous` names the agent that held it before, when it was taken over. */
export interface SubnetClaim {
  subnet: Cidr;
  lock: LockFile;
  previousHolder: string | undefined;
}

function lockPathOf(stateDir: string, block: Cidr): string {
  return path.join(stateDir, `subnet-${formatIpv4(block.base)}-${block.bits}.lock`);
}

/** The claims in `stateDir`: each file, its subnet, and whether the agent holding it still runs (for the janitor). */
export function readSubnetClaims(stateDir: string): Array<{ file: string; subnet: Cidr; alive: boolean }> {
  let names: string[];
  try {
    names = readdirSync(stateDir);
  } catch {
    return [];
  }
  const claims: Array<{ file: string; subnet: Cidr; alive: boolean }> = [];
  for (const name of names) {
    const match = /^subnet-([\d.]+)-(\d+)\.lock$/.exec(name);
    const base = match ? parseIpv4(match[1] ?? "") : undefined;
    if (!match || base === undefined) continue;
    const file = path.join(stateDir, name);
    const holder = readLockHolder(file);
    claims.push({
      file,
      subnet: { base, bits: Number(match[2]) },
      alive: holder !== undefined && isHolderAlive(holder),
    });
  }
  return claims;
}

export function claimSubnet(options: SubnetClaimOptions): SubnetClaim {
  const { stateDir, agentId, range, bits } = options;
  mkdirSync(stateDir, { recursive: true });
  const count = blockSize(range.bits) / blockSize(bits);
  const blocks = Array.from({ length: count }, (_, i) => ({ base: range.base + i * blockSize(bits), bits }));
  const holderOf = (block: Cidr) => readLockHolder(lockPathOf(stateDir, block));
  // The block this agent held before, then unclaimed ones clear of the node's routes, then stale ones.
  const own = blocks.filter((b) => holderOf(b)?.details.agentId === agentId);
  const free = blocks.filter((b) => !holderOf(b) && !options.routes.some((r) => cidrsOverlap(r, b)));
  const stale = blocks.filter((b) => {
    const holder = holderOf(b);
    return holder !== undefined && holder.details.agentId !== agentId && !isHolderAlive(holder);
  });
  for (const block of [...own, ...free, ...stale]) {
    const previous = holderOf(block)?.details.agentId;
    const attempt = tryAcquireLockFile(lockPathOf(stateDir, block), { agentId });
    if (attempt.lock) {
      return {
        subnet: block,
        lock: attempt.lock,
        previousHolder: previous === agentId ? undefined : previous,
      };
    }
    if (attempt.holder.details.agentId === agentId) {
      throw new FsbError(
        ErrorCode.FailedPrecondition,
        `agent ${agentId} already runs here (process ${attempt.holder.pid} holds its subnet ${formatCidr(block)})`,
      );
    }
  }
  throw new FsbError(
    ErrorCode.ResourceExhausted,
    `no free /${bits} left in ${formatCidr(range)} for agent ${agentId}: every block is held by a live agent or overlaps a route of the node (see --sandbox-subnet-range)`,
  );
}

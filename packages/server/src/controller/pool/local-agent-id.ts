/** Names of local agents: short, stable across restarts, and unique across pools and controllers. */
import { createHash } from "node:crypto";
import type { PoolRef } from "./agent-launcher.ts";

/** An agent id is a DNS label; room is kept for the `-<n>` suffix. */
const MAX_BASE = 56;

/**
 * `<prefix>-<n>` for the controller's default pool (its agents keep the names they always had),
 * `<prefix>-<pool>-<n>` for other pools, with the namespace added outside `default`. Without a
 * prefix the pool's name leads. An over-long base is cut and given a hash, so two pools never
 * share a name.
 */
export function localAgentId(
  prefix: string | undefined,
  defaultPool: PoolRef,
  pool: PoolRef,
  n: number,
): string {
  const isDefault = pool.name === defaultPool.name && pool.namespace === defaultPool.namespace;
  const parts = isDefault
    ? [prefix ?? pool.name]
    : [prefix, pool.name, pool.namespace === "default" ? undefined : pool.namespace];
  let base = parts.filter((p): p is string => !!p).join("-");
  if (base.length > MAX_BASE) {
    const hash = createHash("sha256").update(base).digest("hex").slice(0, 6);
    base = `${base.slice(0, MAX_BASE - 7).replace(/-+$/, "")}-${hash}`;
  }
  return `${base}-${n}`;
}

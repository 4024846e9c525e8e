/** Words the FAILED_PRECONDITION for an image no agent of the pool has: which pools and nodes do have it, or that none does. */

/** One pool whose agents hold the image, and on which nodes. */
export interface ImageHolder {
  namespace: string;
  pool: string;
  nodes: readonly string[];
}

/** At most this many pools, and nodes per pool, are named; the rest are counted. */
const MAX_NAMED = 5;

/** The agents' view the message is made from (registered agents only). */
export interface ImageHolderAgent {
  namespace: string;
  pool: string;
  nodeName: string;
  hasImage: boolean;
}

/** The pools (sorted by namespace, then name) whose agents hold the image, each with its nodes (sorted). */
export function imageHolders(agents: Iterable<ImageHolderAgent>): ImageHolder[] {
  const byPool = new Map<string, { namespace: string; pool: string; nodes: Set<string> }>();
  for (const a of agents) {
    if (!a.hasImage) continue;
    const key = `${a.namespace}/${a.pool}`;
    const entry = byPool.get(key) ?? { namespace: a.namespace, pool: a.pool, nodes: new Set<string>() };
    entry.nodes.add(a.nodeName);
    byPool.set(key, entry);
  }
  return [...byPool.values()]
    .map((e) => ({ namespace: e.namespace, pool: e.pool, nodes: [...e.nodes].sort() }))
    .sort((x, y) => cmp(x.namespace, y.namespace) || cmp(x.pool, y.pool));
}

/**
 * `image <ref> is not on any agent of pool "<pool>" in namespace "<ns>"; <where>; agents do not pull
 * images, ...`, where `<where>` names the pools and nodes that have it (a pool of another namespace
 * with its namespace: it cannot serve this sandbox, but says where the image is), or says no agent has it.
 */
export function missingImageMessage(
  image: string,
  namespace: string,
  pool: string,
  holders: readonly ImageHolder[],
): string {
  const where =
    holders.length === 0
      ? "no agent of any pool has it"
      : `it is on ${named(holders, (h) => holderText(h, namespace), "pool")}`;
  return (
    `image ${image} is not on any agent of pool "${pool}" in namespace "${namespace}"; ${where}; ` +
    "agents do not pull images, so load it into the containerd of this pool's nodes first"
  );
}

function holderText(h: ImageHolder, namespace: string): string {
  const ns = h.namespace === namespace ? "" : ` in namespace "${h.namespace}"`;
  const nodes = named(h.nodes, (n) => n, "node");
  return `pool "${h.pool}"${ns} (${h.nodes.length === 1 ? "node" : "nodes"} ${nodes})`;
}

/** The first MAX_NAMED items joined, and how many more there are. */
function named<T>(items: readonly T[], text: (item: T) => string, noun: string): string {
  const shown = items.slice(0, MAX_NAMED).map(text).join(", ");
  const more = items.length - MAX_NAMED;
  return more > 0 ? `${shown} and ${more} more ${noun}${more === 1 ? "" : "s"}` : shown;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

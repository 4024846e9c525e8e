/** Decides what a filtered watch sees of one change, with Kubernetes' rules for labels that start or stop matching. */
import type { WatchEventType } from "../kube/list-watch.ts";

/** The parts of a change a filter looks at. */
export interface ChangeFacts {
  type: WatchEventType;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** Labels before a MODIFIED change; absent for ADDED and DELETED. */
  previousLabels?: Readonly<Record<string, string>> | undefined;
}

/**
 * The event type a watch on (`namespace`, `matches`) delivers for a change, or undefined to skip it. A
 * modification that makes an object match is ADDED for this watch, one that makes it stop matching is
 * DELETED, so a cache built from the watch holds exactly the matching objects.
 */
export function filterChange(
  change: ChangeFacts,
  namespace: string | undefined,
  matches: (labels: Readonly<Record<string, string>>) => boolean,
): WatchEventType | undefined {
  if (namespace !== undefined && change.namespace !== namespace) return undefined;
  const now = matches(change.labels);
  if (change.type !== "MODIFIED" || change.previousLabels === undefined) return now ? change.type : undefined;
  const before = matches(change.previousLabels);
  if (now) return before ? "MODIFIED" : "ADDED";
  return before ? "DELETED" : undefined;
}

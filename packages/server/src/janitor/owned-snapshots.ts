/** Lists the snapshots that carry Fast Sandbox's ownership label, with all their labels. */
import { Labels, managedByValue } from "@fast-sandbox/api";
import type { ContainerdConnection } from "../containerd/connection.ts";
import { containerdCall, fromContainerdError, isNotFound } from "../containerd/errors.ts";
import type { SnapshotFacts } from "./classify-leftovers.ts";

/**
 * Snapshots labelled managed-by Fast Sandbox in `snapshotter`. ContainerRuntime.listSnapshots
 * gives keys only; the janitor also needs the labels that prove the key and tell the age.
 */
export async function listOwnedSnapshots(
  conn: ContainerdConnection,
  snapshotter: string,
): Promise<SnapshotFacts[]> {
  const filter = `labels.${JSON.stringify(Labels.ManagedBy)}==${JSON.stringify(managedByValue)}`;
  const snapshots: SnapshotFacts[] = [];
  await containerdCall("list snapshots", async () => {
    for await (const page of conn.snapshots.list({ snapshotter, filters: [filter] })) {
      for (const info of page.info) snapshots.push({ key: info.name, labels: info.labels });
    }
  });
  return snapshots;
}

/** One snapshot's labels now, or undefined if it is gone. */
export async function statOwnedSnapshot(
  conn: ContainerdConnection,
  snapshotter: string,
  key: string,
): Promise<SnapshotFacts | undefined> {
  try {
    const response = await conn.snapshots.stat({ snapshotter, key });
    return response.info ? { key, labels: response.info.labels } : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw fromContainerdError(err, `stat snapshot ${key}`);
  }
}

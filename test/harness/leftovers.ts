/** Probes that prove a sandbox left nothing behind: container, task, snapshot, bundle, processes. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { isAnchorContainer } from "@fast-sandbox/api";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { isNotFound } from "../../packages/server/src/containerd/errors.ts";

/** What containerd still holds for a container id. */
export interface Leftovers {
  container: boolean;
  task: boolean;
  snapshot: boolean;
  bundle: boolean;
}

/** Checks every place a container leaves state; all false means fully removed. */
export async function leftoversOf(conn: ContainerdConnection, id: string): Promise<Leftovers> {
  const exists = (call: Promise<unknown>) =>
    call.then(
      () => true,
      (err: unknown) => {
        if (isNotFound(err)) return false;
        throw err;
      },
    );
  const stateDir = path.join(path.dirname(conn.socketPath), "state");
  return {
    container: await exists(conn.containers.get({ id })),
    task: await exists(conn.tasks.get({ containerId: id })),
    snapshot: await exists(conn.snapshots.stat({ snapshotter: "overlayfs", key: id })),
    bundle: existsSync(path.join(stateDir, "io.containerd.runtime.v2.task", conn.namespace, id)),
  };
}

export const nothingLeft: Leftovers = { container: false, task: false, snapshot: false, bundle: false };

/**
 * Containers that are not agents' shim anchors. A running agent always has its anchor (it goes only
 * when the agent stops with nothing left), so "no container left" while agents run means this is empty.
 */
export function withoutAnchors<T extends { id: string; labels: Record<string, string> }>(
  containers: T[],
): T[] {
  return containers.filter((c) => !isAnchorContainer(c.labels, c.id));
}

/** The parent PID of a process (for sandboxes: the shim that runs them). */
export function parentPid(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Field 4, after the parenthesised command name (which may itself contain spaces).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[1]);
}

/** Whether a process runs (a zombie awaiting its reaper counts as gone). */
export function processRuns(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Polls `check` until it holds or `timeoutMs` passes; returns the last result. */
export async function eventually<T>(
  check: () => Promise<T> | T,
  done: (v: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await check();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    value = await check();
  }
  return value;
}

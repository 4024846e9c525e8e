/**
 * The containerd floor of the density benchmark: bare create+start calls (bench/e2e-paths.ts's floor)
 * on the same containerd, once while the system is empty and once at full density, so the report can
 * tell the system's slowdown from containerd's own.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ContainerdConnection } from "../packages/server/src/containerd/connection.ts";
import { ContainerRuntime } from "../packages/server/src/containerd/container-runtime.ts";
import { ImageResolver } from "../packages/server/src/containerd/image-resolver.ts";
import { PrivateContainerd } from "../packages/server/src/standalone/private-containerd.ts";
import { TEST_IMAGE, TEST_IMAGE_BASE, TEST_IMAGE_TAR } from "../test/harness/constants.ts";
import type { BenchSystem } from "./bench-system.ts";
import { floorPath } from "./e2e-paths.ts";
import { type LatencySummary, summarize } from "./stats.ts";

const root = path.resolve(import.meta.dirname, "..");
/** Timed floor creates per reading; each is removed (untimed) before the next. */
const FLOOR_RUNS = 30;
const SNAPSHOTTER = "overlayfs";
/** The floor's own containerd namespace: no agent, adoption or janitor ever looks there. */
const NAMESPACE = "fsb-bench-density-floor";

export interface FloorSamples {
  when: "before" | "after";
  summary: LatencySummary;
}

/**
 * FLOOR_RUNS sequential creates in a namespace of their own (no agent, adoption or janitor ever sees
 * it). An untimed anchor container keeps the floor's shim group up meanwhile, as every agent's anchor
 * does for its sandboxes: the floor is containerd's cost with a running shim.
 */
export async function floorCreates(system: BenchSystem, when: FloorSamples["when"]): Promise<FloorSamples> {
  await PrivateContainerd.importImageTo(
    system.socketPath,
    path.join(root, TEST_IMAGE_TAR),
    TEST_IMAGE_BASE,
    NAMESPACE,
  );
  const conn = new ContainerdConnection({ socketPath: system.socketPath, namespace: NAMESPACE });
  const runtime = new ContainerRuntime(conn, { snapshotter: SNAPSHOTTER });
  const logDir = await mkdtemp(path.join(os.tmpdir(), "fsb-bench-density-floor-"));
  try {
    const image = await new ImageResolver(conn).resolve(TEST_IMAGE);
    const floor = floorPath(conn, runtime, image, logDir);
    const anchor = `density-floor-anchor-${when}`;
    await floor.create(anchor, 0);
    const ms: number[] = [];
    try {
      for (let i = 0; i < FLOOR_RUNS; i++) {
        const id = `density-floor-${when}-${i}`;
        ms.push((await floor.create(id, 0)).ms);
        await floor.remove([id]);
      }
    } finally {
      await floor.remove([anchor]);
    }
    return { when, summary: summarize(`floor ${when}`, ms) };
  } finally {
    for (const c of await runtime.list({}).catch(() => [])) await runtime.delete(c.id, { gracePeriodMs: 0 });
    conn.close();
    await rm(logDir, { recursive: true, force: true });
  }
}

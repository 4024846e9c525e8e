/**
 * Reads containerd's task bundle directories (`<state>/io.containerd.runtime.v2.task/<ns>/<id>`),
 * with the spec each holds and whether anything is still mounted under it.
 */
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import type { BundleFacts } from "./classify-leftovers.ts";

/** containerd's runtime v2 keeps one bundle per task here, under the state directory. */
const TASK_DIR = "io.containerd.runtime.v2.task";

/** A bundle directory with its path. */
export interface TaskBundle extends BundleFacts {
  path: string;
}

/** The bundle directory of container `id`. */
export function bundlePath(stateDir: string, namespace: string, id: string): string {
  return path.join(stateDir, TASK_DIR, namespace, id);
}

/** Every bundle directory of `namespace`; a missing directory has none. */
export async function listTaskBundles(stateDir: string, namespace: string): Promise<TaskBundle[]> {
  const dir = path.join(stateDir, TASK_DIR, namespace);
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
  const mounts = await mountPoints();
  const bundles: TaskBundle[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const bundle = await readBundle(path.join(dir, entry.name), entry.name, mounts);
    if (bundle) bundles.push(bundle);
  }
  return bundles;
}

/** One bundle as it is now (a fresh read for the re-check), or undefined if it is gone. */
export async function readTaskBundle(
  stateDir: string,
  namespace: string,
  id: string,
): Promise<TaskBundle | undefined> {
  return readBundle(bundlePath(stateDir, namespace, id), id, await mountPoints());
}

async function readBundle(
  dir: string,
  id: string,
  mounts: readonly string[],
): Promise<TaskBundle | undefined> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) return undefined;
  const spec = await readFile(path.join(dir, "config.json"), "utf8").then(
    (text) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return undefined;
      }
    },
    () => undefined,
  );
  // mountinfo names real paths: resolve symlinks in the state dir before comparing.
  const real = await realpath(dir).catch(() => dir);
  const mounted = mounts.some((m) => m === real || m.startsWith(`${real}/`));
  return { path: dir, id, modifiedAtMs: info.mtimeMs, spec, mounted };
}

/** Mount points of this process's mount namespace (field 5 of /proc/self/mountinfo, octal escapes undone). */
async function mountPoints(): Promise<string[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) =>
      (line.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, octal: string) =>
        String.fromCharCode(Number.parseInt(octal, 8)),
      ),
    );
}

/**
 * The test tiers. The unit tier is every test file that needs no containerd and starts no child
 * process, so it runs in seconds anywhere `npm ci` ran; `npm test` runs every tier.
 *
 * A file belongs to the integration tier when it imports the test harness (which drives a real
 * containerd, controller, agents or CLI) or `node:child_process`. The unit tier runs without a
 * containerd socket, so a file misfiled as a unit test fails at once instead of passing by luck.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/** An import of the harness (from a package or from test/), or of node:child_process. */
const INTEGRATION_MARKERS = [/from "(?:\.\.?\/)+(?:test\/)?harness\//, /from "node:child_process"/];

/** Every `*.test.ts` under the package sources and `test/`, relative to `root`, sorted. */
export function allTestFiles(root: string): string[] {
  const roots = [
    ...readdirSync(path.join(root, "packages")).map((p) => path.join("packages", p, "src")),
    "test",
  ];
  return roots
    .flatMap((dir) => walk(root, dir))
    .filter((file) => file.endsWith(".test.ts"))
    .sort();
}

/** The test files of the unit tier (see the module comment), relative to `root`. */
export function unitTestFiles(root: string): string[] {
  return allTestFiles(root).filter((file) => {
    const text = readFileSync(path.join(root, file), "utf8");
    return !INTEGRATION_MARKERS.some((marker) => marker.test(text));
  });
}

function walk(root: string, dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(path.join(root, dir));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    if (name === "node_modules" || name.startsWith(".")) return [];
    const rel = path.join(dir, name);
    return statSync(path.join(root, rel)).isDirectory() ? walk(root, rel) : [rel];
  });
}

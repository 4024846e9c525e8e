/**
 * Static checks run by `npm test` before the suite: types, lint and formatting, and generated
 * files that must match their sources byte for byte (code from .proto, CRDs from TypeScript).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const bin = (name: string) => path.join(root, "node_modules/.bin", name);
let failed = false;

function step(name: string, command: string, args: string[]): void {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  const ms = Math.round(performance.now() - started);
  if (result.status === 0) {
    console.log(`[check] ${name}: ok (${ms} ms)`);
  } else {
    console.error(`[check] ${name}: FAILED`);
    failed = true;
  }
}

step("typecheck", bin("tsc"), ["-p", "tsconfig.json", "--noEmit"]);
step("lint", bin("biome"), ["check", "--error-on-warnings", "."]);
checkGenerated();
// The CRD YAML under deploy/base/crds/ must match what packages/api/src/crd/ generates.
step("generated CRDs", process.execPath, ["scripts/gen-crds.ts", "--check"]);
// File and function lengths and folder import cycles (the limits docs/architecture.md states).
step("source shape", process.execPath, ["scripts/shape-check.ts"]);
if (failed) process.exit(1);

/** Regenerates into a scratch directory and compares with the committed gen/ trees. */
function checkGenerated(): void {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "fsb-gen-"));
  try {
    const template = readFileSync(path.join(root, "buf.gen.yaml"), "utf8").replaceAll(
      /out: (\S+)/g,
      (_m, out: string) => `out: ${path.join(scratch, out)}`,
    );
    execFileSync(bin("buf"), ["generate", "--template", template], {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, PATH: `${path.dirname(bin("buf"))}:${process.env.PATH}` },
    });
    const drift = compareTrees(scratch, root);
    if (drift.length === 0) {
      console.log("[check] generated code: ok");
    } else {
      console.error(`[check] generated code drifted from proto/ (run \`npm run gen\`): ${drift.join(", ")}`);
      failed = true;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function compareTrees(scratch: string, repo: string): string[] {
  const drift: string[] = [];
  for (const file of walk(scratch)) {
    const rel = path.relative(scratch, file);
    let committed: string | undefined;
    try {
      committed = readFileSync(path.join(repo, rel), "utf8");
    } catch {
      committed = undefined;
    }
    if (committed !== readFileSync(file, "utf8")) drift.push(rel);
  }
  return drift;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

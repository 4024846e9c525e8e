/**
 * Runs the whole test suite against a private containerd that this script starts and stops (by
 * PID). Any container left in the test namespace afterwards fails the run: tests own their cleanup.
 *
 * `--unit` runs only the unit tier (scripts/test-tiers.ts): no containerd is started and none is
 * offered, so a test that needs one fails instead of being skipped.
 */
import { spawn } from "node:child_process";
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { ContainerRuntime } from "../packages/server/src/containerd/container-runtime.ts";
import { isProcessAlive } from "../packages/server/src/core/process-alive.ts";
import { PrivateContainerd } from "../packages/server/src/standalone/private-containerd.ts";
import { TEST_IMAGE, TEST_IMAGE_BASE, TEST_IMAGE_TAR, TEST_NAMESPACE } from "../test/harness/constants.ts";
import { unitTestFiles } from "./test-tiers.ts";

const root = path.resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
if (args[0] === "--unit") {
  const { FSB_TEST_CONTAINERD_SOCKET: _, ...env } = process.env;
  // One process for all files (no per-file start-up, which is most of a unit file's time); the
  // unit tier needs no isolation, as it starts nothing and every file cleans up its own timers.
  process.exit(await runNodeTest(["--test-isolation=none", ...unitTestFiles(root)], {}, env));
}
const patterns = args.length ? args : ["packages/*/src/**/*.test.ts", "test/**/*.test.ts"];

// One containerd per run, so runs side by side (a developer and CI, or two terminals) never share one.
const runsDir = path.join(root, ".fsb-dev/test-runs");
await removeDeadRuns(runsDir);
const runDir = path.join(runsDir, String(process.pid));
const containerd = new PrivateContainerd({ dir: runDir });
let exitCode = 1;
try {
  await containerd.start();
  await containerd.importImage(path.join(root, TEST_IMAGE_TAR), TEST_IMAGE_BASE, TEST_NAMESPACE);
  console.log(`[tests] containerd pid ${containerd.pid} on ${containerd.socketPath}, image ${TEST_IMAGE}`);
  const restoreCrds = await guardClusterCrds();
  exitCode = await runNodeTest(patterns, { FSB_TEST_CONTAINERD_SOCKET: containerd.socketPath });
  const leftovers = await removeLeftovers(containerd);
  if (leftovers.length > 0) {
    console.error(`[tests] FAIL: tests left containers behind: ${leftovers.join(", ")}`);
    exitCode = exitCode || 1;
  }
  await restoreCrds?.().catch((err: unknown) => {
    console.error("[tests] FAIL: could not delete the deploy CRDs the cluster suites added:", err);
    exitCode = exitCode || 1;
  });
} catch (err) {
  console.error("[tests] harness failure:", err);
} finally {
  await containerd.stop();
  await rm(runDir, { recursive: true, force: true }).catch(() => {});
}
process.exit(exitCode);

/**
 * With a test cluster (FSB_TEST_KUBECONFIG), what deletes at the end of the run the deploy CRDs the
 * cluster did not have before it (docs/kubernetes.md); the suites share them, so none deletes them.
 */
async function guardClusterCrds(): Promise<(() => Promise<void>) | undefined> {
  if (!process.env.FSB_TEST_KUBECONFIG) return undefined;
  const { guardDeployCrds, testKubeConfig } = await import("../test/harness/kube-cluster.ts");
  return guardDeployCrds(testKubeConfig(process.env.FSB_TEST_KUBECONFIG));
}

/** A run that crashed leaves its directory (and maybe its containerd); both go once its PID is gone. */
async function removeDeadRuns(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || isProcessAlive(pid)) continue;
    const leftover = new PrivateContainerd({ dir: path.join(dir, entry) });
    await leftover.stopLeftover();
    await rm(path.join(dir, entry), { recursive: true, force: true }).catch(() => {});
  }
}

function runNodeTest(
  globs: string[],
  env: Record<string, string>,
  baseEnv: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--test", "--test-concurrency=2", "--test-timeout=120000", "--test-reporter=spec", ...globs],
      { cwd: root, stdio: "inherit", env: { ...baseEnv, ...env } },
    );
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function removeLeftovers(containerd: PrivateContainerd): Promise<string[]> {
  const runtime = new ContainerRuntime(containerd.connect(TEST_NAMESPACE));
  const leftovers = await runtime.list({});
  for (const c of leftovers) await runtime.delete(c.id, { gracePeriodMs: 0 });
  return leftovers.map((c) => c.id);
}

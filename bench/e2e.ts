/** Benchmark: sandbox create latency at the client through a real fsb-controller (fast and strong mode) vs. the bare containerd floor. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Labels, managedByValue } from "@fast-sandbox/api";
import type { ContainerdConnection } from "../packages/server/src/containerd/connection.ts";
import { ContainerRuntime } from "../packages/server/src/containerd/container-runtime.ts";
import { ImageResolver } from "../packages/server/src/containerd/image-resolver.ts";
import { isProcessAlive } from "../packages/server/src/core/process-alive.ts";
import { PrivateContainerd } from "../packages/server/src/standalone/private-containerd.ts";
import { TEST_IMAGE, TEST_IMAGE_BASE, TEST_IMAGE_TAR } from "../test/harness/constants.ts";
import { type ControllerProcess, startControllerProcess } from "../test/harness/controller-process.ts";
import { IDLE_MS, IDLE_RUNS, measureIdle } from "./e2e-idle.ts";
import { measureConcurrent, measureSequential } from "./e2e-measure.ts";
import { apiPath, type E2ePath, floorAgentId, floorPath, SNAPSHOTTER } from "./e2e-paths.ts";
import { measurePrewarmed, TARGET_PREWARMED_P50_MS } from "./e2e-prewarm.ts";
import {
  concurrencyResult,
  describeMachine,
  type E2eResult,
  formatReport,
  loadAverage,
  prewarmedResult,
  TARGET_FAST_OVER_FLOOR,
  TARGET_STRONG_MINUS_FAST_MS,
} from "./e2e-report.ts";

const root = path.resolve(import.meta.dirname, "..");
/** The benchmark's own containerd, never the system's nor the dev/test/agent-bench ones. */
const CONTAINERD_DIR = path.join(root, ".fsb-dev/bench-e2e-containerd");
/** The controller's local agents create their containers in this namespace. */
const AGENT_NAMESPACE = "fsb-bench-e2e";
/** The floor's containers live apart, so no agent or orphan collector ever sees them. */
const FLOOR_NAMESPACE = "fsb-bench-e2e-floor";
/** Local agents the controller launches; the floor uses as many shim groups. */
const AGENTS = 4;
/** Per agent: a burst's share (16 / 4), with room to spare. */
const AGENT_CAPACITY = 8;
/** The controller's defaults: probe every 2 s, lose an agent after 15 s of silence. */
const PROBE_INTERVAL = "2s";
const LOSS_TIMEOUT = "15s";
const BURST_CONCURRENCY = 16;
/** 9 full cycles of the 6 path orders (see e2e-measure.ts). */
const DEFAULT_RUNS = 54;
/** Fewer samples make p95/p99 meaningless. */
const MIN_RUNS = 30;
/** One full cycle of the 6 path orders. */
const DEFAULT_ROUNDS = 6;
/** Untimed sequential iterations per path first, so shims, page cache and JIT are warm. */
const DEFAULT_WARMUP = 3;
/** fsb-controller's --workers default, stated in the report when the flag is not given. */
const CONTROLLER_DEFAULT_WORKERS = 8;
/** Untimed bursts per path before the timed ones. */
const WARMUP_ROUNDS = 1;
/** Idle time after each sequential removal, the same for every path (untimed). */
const SEQUENTIAL_SETTLE_MS = 50;
/** Idle time after each burst's removal: 16 containers' cgroups and mounts go away after the deletes return. */
const BURST_SETTLE_MS = 500;
/** How long a local agent gets to exit after SIGTERM before it is killed (clean-up safety net). */
const AGENT_STOP_TIMEOUT_MS = 15_000;
const STOP_POLL_MS = 50;
/** Conventional exit status after SIGINT. */
const EXIT_INTERRUPTED = 130;
/** Prewarmed creates wait for a refill between runs (a probe interval), so they are capped. */
const PREWARM_RUNS = 30;
const CLIENT =
  "gRPC over HTTP/2 (connect-node gRPC transport, one session kept open and reused), timed in the benchmark process";

interface BenchOptions {
  runs: number;
  rounds: number;
  warmup: number;
  /** fsb-controller's --workers; undefined keeps the controller's default. */
  workers: number | undefined;
  json: boolean;
}

const usage = `Usage: node bench/e2e.ts [--runs N] [--rounds N] [--warmup N] [--workers N] [--json]

Measures CreateSandbox of busybox \`sleep 3600\` (image cached) at the client, through a real
fsb-controller with ${AGENTS} local agents, in fast and in strong mode, against the bare containerd
floor (Prepare, Containers.Create, Tasks.Create, Tasks.Start), on a private containerd; first one
create at a time, then ${BURST_CONCURRENCY} in flight at once.

  --runs N     timed sequential runs per path (default ${DEFAULT_RUNS}, at least ${MIN_RUNS})
  --rounds N   timed bursts of ${BURST_CONCURRENCY} per path (default ${DEFAULT_ROUNDS})
  --warmup N   untimed sequential runs per path first (default ${DEFAULT_WARMUP})
  --workers N  passed to fsb-controller as --workers (concurrent reconciles, which bound
               strong-mode creates in flight; default: the controller's own, ${CONTROLLER_DEFAULT_WORKERS})
  --json       print the results, with every sample, as JSON instead of tables
`;

function parseOptions(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      runs: { type: "string" },
      rounds: { type: "string" },
      warmup: { type: "string" },
      workers: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return undefined;
  const runs = wholeNumber(values.runs, DEFAULT_RUNS, "--runs");
  if (runs < MIN_RUNS) throw new Error(`--runs must be at least ${MIN_RUNS}, got ${runs}`);
  const rounds = wholeNumber(values.rounds, DEFAULT_ROUNDS, "--rounds");
  if (rounds < 1) throw new Error("--rounds must be at least 1");
  const workers = values.workers === undefined ? undefined : wholeNumber(values.workers, 0, "--workers");
  if (workers === 0) throw new Error("--workers must be at least 1");
  return {
    runs,
    rounds,
    warmup: wholeNumber(values.warmup, DEFAULT_WARMUP, "--warmup"),
    workers,
    json: !!values.json,
  };
}

function wholeNumber(raw: string | undefined, fallback: number, flag: string): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${flag} must be a whole number, got "${raw}"`);
  return Number(raw);
}

/** Progress and diagnostics go to stderr, so stdout holds only the report. */
function say(message: string): void {
  process.stderr.write(`[bench:e2e] ${message}\n`);
}

/** Removes every container (and any snapshot of ours without one) in a namespace: leftovers of a crash, or of this run. */
async function removeAll(runtime: ContainerRuntime): Promise<number> {
  const containers = await runtime.list({});
  for (const c of containers) await runtime.delete(c.id, { gracePeriodMs: 0 });
  const snapshots = await runtime.listSnapshots({ [Labels.ManagedBy]: managedByValue });
  for (const key of snapshots) await runtime.removeSnapshot(key);
  return containers.length;
}

/**
 * One anchor container per floor shim group, kept for the whole run: a shim exits with the last
 * container of its group, and the floor stands for containerd's cost with a running shim. The
 * controller's agents get nothing from the bench: each keeps its own shim anchor, as users get it.
 */
async function createFloorAnchors(floor: E2ePath): Promise<string[]> {
  const ids = Array.from({ length: AGENTS }, (_, lane) => `e2e-floor-anchor-${lane}`);
  for (const [lane, id] of ids.entries()) await floor.create(id, lane);
  say(`anchors on floor shim groups ${floorAgentId(0)}…${AGENTS - 1}`);
  return ids;
}

/** The local agents' PIDs, from the state file the controller's launcher keeps in its data dir. */
async function localAgentPids(ctl: ControllerProcess): Promise<Array<{ agentId: string; pid: number }>> {
  const file = path.join(ctl.dataDir, "agents", "local-agents.json");
  const parsed = JSON.parse(await readFile(file, "utf8").catch(() => "[]")) as unknown;
  return Array.isArray(parsed) ? (parsed as Array<{ agentId: string; pid: number }>) : [];
}

/** Safety net for a controller that died without stopping its agents: stops them by PID, if still theirs. */
async function stopStrayAgents(agents: Array<{ agentId: string; pid: number }>): Promise<void> {
  for (const { agentId, pid } of agents) {
    if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.includes("fsb-agent") || !cmdline.includes(agentId)) continue;
    say(`cleanup: local agent ${agentId} (pid ${pid}) outlived the controller; stopping it`);
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + AGENT_STOP_TIMEOUT_MS;
    while (isProcessAlive(pid) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, STOP_POLL_MS));
    if (isProcessAlive(pid)) process.kill(pid, "SIGKILL");
  }
}

async function main(): Promise<number> {
  let options: BenchOptions | undefined;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (!options) {
    process.stdout.write(usage);
    return 0;
  }

  const interrupt = new AbortController();
  const onSignal = () => {
    say("interrupted; cleaning up");
    interrupt.abort(new Error("interrupted"));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const parts: CleanupParts = {
    containerd: new PrivateContainerd({ dir: CONTAINERD_DIR }),
    runtimes: [],
    conns: [],
    agents: [],
  };
  let status = 0;
  try {
    const result = await run(parts, options, interrupt.signal);
    process.stdout.write(`${options.json ? JSON.stringify(result, null, 2) : formatReport(result)}\n`);
  } catch (err) {
    if (interrupt.signal.aborted) {
      status = EXIT_INTERRUPTED;
    } else {
      say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (parts.ctl) say(`controller output:\n${parts.ctl.output()}`);
      status = 1;
    }
  } finally {
    const cleanupStatus = await cleanUp(parts);
    if (status === 0) status = cleanupStatus;
  }
  return status;
}

/** Starts the system, measures every series and sums the samples up. */
async function run(parts: CleanupParts, options: BenchOptions, interrupted: AbortSignal): Promise<E2eResult> {
  const { ctl, fast, floor, machine } = await startSystem(parts, options);
  const paths = [fast, apiPath(ctl.grpc, "strong"), floor];
  const floorAnchors = await createFloorAnchors(floor);

  const date = new Date().toISOString();
  const loadStart = loadAverage();
  const sequential = await measureSequential(
    paths,
    { runs: options.runs, warmup: options.warmup, settleMs: SEQUENTIAL_SETTLE_MS },
    interrupted,
    say,
  );
  const burst = await measureConcurrent(
    paths,
    {
      concurrency: BURST_CONCURRENCY,
      rounds: options.rounds,
      warmupRounds: WARMUP_ROUNDS,
      lanes: AGENTS,
      settleMs: BURST_SETTLE_MS,
    },
    interrupted,
    say,
  );
  const prewarmRuns = Math.min(options.runs, PREWARM_RUNS);
  say(`prewarmed creates: ${prewarmRuns} runs, each from a full pool`);
  const prewarmed = await measurePrewarmed(
    { fastPath: ctl.grpc, pools: ctl.pools },
    prewarmRuns,
    interrupted,
    say,
  );
  say(`idle agent: ${IDLE_RUNS} creates per path, each after ${IDLE_MS / 1000} s with nothing running`);
  const idle = await measureIdle(fast, floor, IDLE_RUNS, interrupted, say);
  await floor.remove(floorAnchors);
  return {
    date,
    machine,
    setup: {
      containerdDir: path.relative(root, CONTAINERD_DIR),
      agents: AGENTS,
      capacity: AGENT_CAPACITY,
      probeInterval: PROBE_INTERVAL,
      workers:
        options.workers === undefined ? `${CONTROLLER_DEFAULT_WORKERS} (default)` : String(options.workers),
      client: CLIENT,
    },
    loadAverage: { start: loadStart, end: loadAverage() },
    targets: {
      fastOverFloor: TARGET_FAST_OVER_FLOOR,
      strongMinusFastMs: TARGET_STRONG_MINUS_FAST_MS,
      prewarmedP50Ms: TARGET_PREWARMED_P50_MS,
    },
    prewarmed: prewarmedResult(prewarmed),
    idle,
    results: [
      concurrencyResult(
        1,
        [
          `${options.runs} runs per path after ${options.warmup} warm-up, one at a time`,
          `paths interleaved in all 6 orders in turn, ${SEQUENTIAL_SETTLE_MS} ms idle after each delete`,
        ],
        sequential,
      ),
      concurrencyResult(
        BURST_CONCURRENCY,
        [
          `${options.rounds} round${options.rounds === 1 ? "" : "s"} × ${BURST_CONCURRENCY} in flight per path ` +
            `after ${WARMUP_ROUNDS} warm-up round, each create timed on its own`,
          `paths interleaved in all 6 orders in turn, ${BURST_SETTLE_MS} ms idle after each batch delete`,
        ],
        burst,
      ),
    ],
  };
}

/** The private containerd (both namespaces cleared of an earlier run), the controller and its agents, the floor. */
async function startSystem(parts: CleanupParts, options: BenchOptions) {
  const { containerd } = parts;
  await containerd.start();
  say(`containerd pid ${containerd.pid} on ${containerd.socketPath}`);
  for (const namespace of [AGENT_NAMESPACE, FLOOR_NAMESPACE]) {
    await containerd.importImage(path.join(root, TEST_IMAGE_TAR), TEST_IMAGE_BASE, namespace);
    const conn = containerd.connect(namespace);
    const runtime = new ContainerRuntime(conn, { snapshotter: SNAPSHOTTER });
    parts.conns.push(conn);
    parts.runtimes.push(runtime);
    const stale = await removeAll(runtime);
    if (stale > 0) say(`removed ${stale} container(s) left in ${namespace} by an earlier run`);
  }
  const [, floorConn] = parts.conns as [ContainerdConnection, ContainerdConnection];
  const [, floorRuntime] = parts.runtimes as [ContainerRuntime, ContainerRuntime];
  const image = await new ImageResolver(floorConn).resolve(TEST_IMAGE);
  const machine = await describeMachine(floorConn);
  parts.floorLogDir = await mkdtemp(path.join(os.tmpdir(), "fsb-bench-e2e-floor-"));

  const ctl = await startControllerProcess({
    socketPath: containerd.socketPath,
    localAgents: AGENTS,
    capacity: AGENT_CAPACITY,
    probeInterval: PROBE_INTERVAL,
    lossTimeout: LOSS_TIMEOUT,
    // The harness names the test namespace; the last occurrence of a flag wins.
    extraArgs: [
      "--containerd-namespace",
      AGENT_NAMESPACE,
      ...(options.workers === undefined ? [] : ["--workers", String(options.workers)]),
    ],
  });
  parts.ctl = ctl;
  parts.agents = await localAgentPids(ctl);
  say(`fsb-controller pid ${ctl.pid} on ${ctl.url}, agents ${parts.agents.map((a) => a.pid).join(", ")}`);
  const fast = apiPath(ctl.grpc, "fast");
  const floor = floorPath(floorConn, floorRuntime, image, parts.floorLogDir);
  return { ctl, fast, floor, machine };
}

interface CleanupParts {
  containerd: PrivateContainerd;
  ctl?: ControllerProcess;
  agents: Array<{ agentId: string; pid: number }>;
  /** Agent namespace first, then the floor's. */
  conns: ContainerdConnection[];
  runtimes: ContainerRuntime[];
  floorLogDir?: string;
}

/** Tears everything down in order; each step runs even if an earlier one failed. Returns 1 on any failure. */
async function cleanUp(parts: CleanupParts): Promise<number> {
  let status = 0;
  const step = async (what: string, action: () => Promise<unknown>) => {
    try {
      await action();
    } catch (err) {
      status = 1;
      say(`cleanup: ${what} failed: ${(err as Error).message}`);
    }
  };
  const { ctl, containerd } = parts;
  if (ctl && isProcessAlive(ctl.pid)) {
    // Deletes every sandbox through the API and waits until they are gone, then stops the controller.
    await step("deleting sandboxes through the API", () => ctl.cleanup());
  }
  if (ctl) {
    await step("stopping fsb-controller", () => ctl.stop());
    await step("stopping stray local agents", () => stopStrayAgents(parts.agents));
    await step(`removing ${ctl.dataDir}`, () => rm(ctl.dataDir, { recursive: true, force: true }));
  }
  // A Ctrl-C reaches the whole process group, containerd included, while the shims keep running:
  // start it again (it finds them through its state dir) so their containers can be removed.
  if (parts.runtimes.length > 0 && !(containerd.pid && isProcessAlive(containerd.pid))) {
    await step("restarting containerd to remove leftovers", async () => {
      await containerd.start();
      say(`containerd restarted (pid ${containerd.pid}) to remove what the run left`);
    });
  }
  // Whatever is still in our namespaces (after a failure: floor containers, anything the API left) is ours.
  for (const [i, runtime] of parts.runtimes.entries()) {
    const namespace = parts.conns[i]?.namespace;
    await step(`removing leftover containers in ${namespace}`, async () => {
      const left = await removeAll(runtime);
      if (left > 0) say(`cleanup: removed ${left} leftover container(s) in ${namespace}`);
    });
  }
  for (const conn of parts.conns) conn.close();
  const { floorLogDir } = parts;
  if (floorLogDir)
    await step(`removing ${floorLogDir}`, () => rm(floorLogDir, { recursive: true, force: true }));
  await step("stopping containerd", () => containerd.stop());
  return status;
}

// The gRPC sessions would hold the loop open; the report is written, so exit.
process.exit(await main());

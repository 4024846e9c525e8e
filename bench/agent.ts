/**
 * Benchmark: sandbox create+start latency through fsb-agent vs. the direct containerd floor and
 * `ctr run -d`, and a create that fsb-agent serves from a prewarmed container.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { ContainerdConnection } from "../packages/server/src/containerd/connection.ts";
import { ContainerRuntime } from "../packages/server/src/containerd/container-runtime.ts";
import { ImageResolver } from "../packages/server/src/containerd/image-resolver.ts";
import { PrivateContainerd } from "../packages/server/src/standalone/private-containerd.ts";
import {
  type AgentProcess,
  removeLogDir,
  startAgentProcess,
  tempLogDir,
} from "../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_IMAGE_BASE, TEST_IMAGE_TAR } from "../test/harness/constants.ts";
import {
  agentPath,
  BENCH_NAMESPACE,
  type BenchPath,
  callAgent,
  ctrPath,
  directPath,
  type PathName,
  PREWARM_COUNT,
  prewarmPath,
  prewarmTemplate,
  runProcess,
  SNAPSHOTTER,
  waitPrewarmReady,
} from "./agent-paths.ts";
import { formatTable, type LatencySummary, ms, percentile, summarize } from "./stats.ts";

const root = path.resolve(import.meta.dirname, "..");
/** The benchmark's own containerd, never the system's nor the dev/test ones. */
const CONTAINERD_DIR = path.join(root, ".fsb-dev/bench-containerd");
/** The agent under test; its sandboxes share the shim group named after it. */
const AGENT_ID = "bench-agent";
/** The design's goal for a create served from a prewarmed container, at the client. */
const PREWARM_TARGET_P50_MS = 20;
/** The prewarmed path also reports this percentile (the table has p95 and p99). */
const P90 = 90;

const DEFAULT_RUNS = 50;
/** Fewer samples make p95/p99 meaningless. */
const MIN_RUNS = 30;
/** Untimed iterations per path first, so the shared shim, page cache and JIT are warm. */
const DEFAULT_WARMUP_RUNS = 3;
/** The goal this benchmark checks: agent p50 at most this multiple of the direct floor's p50. */
const TARGET_RATIO = 1.15;
/** Ratios get three decimals, so a result just either side of the target does not print as equal to it. */
const RATIO_DECIMALS = 3;
/** fsb-agent caps capacity at this value. */
const MAX_AGENT_CAPACITY = 1000;
/** A progress line is printed every this many iterations. */
const PROGRESS_EVERY = 10;
/** Conventional exit status after SIGINT. */
const EXIT_INTERRUPTED = 130;

interface BenchOptions {
  runs: number;
  warmup: number;
  json: boolean;
}

interface MachineInfo {
  cpu: string;
  nproc: number;
  kernel: string;
  containerd: string;
  runc: string;
}

interface BenchResult {
  date: string;
  machine: MachineInfo;
  runs: number;
  warmup: number;
  summaries: LatencySummary[];
  agentOverDirect: number;
  ctrOverDirect: number;
  targetRatio: number;
  targetMet: boolean;
  prewarm: { p50: number; p90: number; targetP50: number; targetMet: boolean };
  samplesMs: Record<PathName, number[]>;
}

const usage = `Usage: node bench/agent.ts [--runs N] [--warmup N] [--json]

Measures sequential create+start of busybox \`sleep 3600\` (image cached) through fsb-agent's HTTP
API, directly over containerd's API (the floor), and with \`ctr run -d\`, on a private containerd;
and a create that fsb-agent serves by starting a prewarmed container (\`sleep 3601\`, ${PREWARM_COUNT}
kept ready, each take followed by an untimed wait for the refill, so no timed create overlaps one).

  --runs N     timed runs per path (default ${DEFAULT_RUNS}, at least ${MIN_RUNS})
  --warmup N   untimed warm-up runs per path (default ${DEFAULT_WARMUP_RUNS})
  --json       print the results as JSON instead of a table
`;

function parseOptions(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      runs: { type: "string" },
      warmup: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return undefined;
  const runs = wholeNumber(values.runs, DEFAULT_RUNS, "--runs");
  if (runs < MIN_RUNS) throw new Error(`--runs must be at least ${MIN_RUNS}, got ${runs}`);
  return { runs, warmup: wholeNumber(values.warmup, DEFAULT_WARMUP_RUNS, "--warmup"), json: !!values.json };
}

function wholeNumber(raw: string | undefined, fallback: number, flag: string): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${flag} must be a whole number, got "${raw}"`);
  return Number(raw);
}

/** Progress and diagnostics go to stderr, so stdout holds only the report. */
function say(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function describeMachine(conn: ContainerdConnection): Promise<MachineInfo> {
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  const version = await conn.version.version({});
  const runc = await runProcess("runc", ["--version"]).catch(() => "unknown");
  return {
    cpu,
    nproc: os.availableParallelism(),
    kernel: os.release(),
    containerd: version.version,
    runc: runc.split("\n")[0]?.replace(/^runc version\s*/, "") ?? "unknown",
  };
}

/** Removes every container in the bench namespace (leftovers of a crashed run, or of this one). */
async function removeAllContainers(runtime: ContainerRuntime): Promise<number> {
  const containers = await runtime.list({});
  for (const c of containers) await runtime.delete(c.id, { gracePeriodMs: 0 });
  return containers.length;
}

/**
 * Interleaves the paths per iteration (agent, direct, ctr, agent, …) so machine noise hits all
 * alike. Each create is followed by its untimed teardown, so containers never accumulate: every
 * agent create lands on an idle agent (no sandbox, only its own anchor), and the only container
 * the bench keeps is the floor's anchor.
 */
async function measure(
  paths: readonly BenchPath[],
  options: BenchOptions,
  live: Map<string, BenchPath>,
  interrupted: AbortSignal,
): Promise<Record<PathName, number[]>> {
  const samples: Record<PathName, number[]> = { agent: [], direct: [], ctr: [], prewarm: [] };
  const total = options.warmup + options.runs;
  const anchors = paths.filter((p) => p.needsAnchor);
  for (const benchPath of anchors) {
    const id = `fsb-bench-${benchPath.name}-anchor`;
    live.set(id, benchPath);
    await benchPath.createStart(id);
  }
  for (let i = 0; i < total; i++) {
    const warm = i < options.warmup;
    for (const benchPath of paths) {
      if (interrupted.aborted) throw new Error("interrupted");
      const id = `fsb-bench-${benchPath.name}-${warm ? `w${i}` : i - options.warmup}`;
      live.set(id, benchPath);
      const elapsed = await benchPath.createStart(id);
      await benchPath.teardown(id);
      live.delete(id);
      if (!warm) samples[benchPath.name].push(elapsed);
    }
    const done = i + 1 - options.warmup;
    if (done === 0) say(`${options.warmup} warm-up iteration(s) done`);
    else if (done > 0 && (done % PROGRESS_EVERY === 0 || done === options.runs)) {
      say(`${done}/${options.runs} timed iterations`);
    }
  }
  for (const benchPath of anchors) {
    const id = `fsb-bench-${benchPath.name}-anchor`;
    await benchPath.teardown(id);
    live.delete(id);
  }
  return samples;
}

function report(result: BenchResult): string {
  const target = `${TARGET_RATIO.toFixed(2)}×`;
  return [
    "fsb-agent create+start benchmark: busybox `sleep 3600`, image cached, sequential",
    `date:       ${result.date}`,
    `machine:    ${result.machine.cpu}, nproc ${result.machine.nproc}, Linux ${result.machine.kernel}`,
    `containerd: ${result.machine.containerd} (private, ${path.relative(root, CONTAINERD_DIR)}), runc ${result.machine.runc}`,
    `runs:       ${result.runs} per path after ${result.warmup} warm-up, interleaved agent/direct/ctr/prewarm`,
    "shims:      fsb-agent keeps its own shim anchor (every agent create lands on an idle agent); the bench keeps one\n" +
      "            anchor on the direct floor's shared shim; ctr starts a shim per run",
    `prewarm:    fsb-agent starting one of ${PREWARM_COUNT} prewarmed containers (\`sleep 3601\`); refill awaited untimed`,
    "",
    formatTable(result.summaries),
    "",
    `agent p50 / direct p50: ${result.agentOverDirect.toFixed(RATIO_DECIMALS)}×`,
    `ctr p50 / direct p50:   ${result.ctrOverDirect.toFixed(RATIO_DECIMALS)}×`,
    `target agent p50 within ${target} of the direct floor: ${result.targetMet ? "met" : "NOT met"}`,
    `prewarmed create p50 ${ms(result.prewarm.p50)} ms, p90 ${ms(result.prewarm.p90)} ms; ` +
      `target p50 < ${result.prewarm.targetP50} ms: ${result.prewarm.targetMet ? "met" : "NOT met"}`,
  ].join("\n");
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
    interrupt.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const parts: BenchParts = {
    containerd: new PrivateContainerd({ dir: CONTAINERD_DIR }),
    live: new Map(),
    logDirs: [],
  };
  let status = 0;
  try {
    const result = await run(parts, options, interrupt.signal);
    process.stdout.write(`${options.json ? JSON.stringify(result, null, 2) : report(result)}\n`);
  } catch (err) {
    if (interrupt.signal.aborted) {
      status = EXIT_INTERRUPTED;
    } else {
      say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (parts.agent) say(`agent output:\n${parts.agent.output()}`);
      status = 1;
    }
  } finally {
    const cleanupStatus = await cleanUp(parts);
    if (status === 0) status = cleanupStatus;
  }
  return status;
}

/** What a run starts, filled in as it goes, so the clean-up removes exactly what was started. */
interface BenchParts {
  containerd: PrivateContainerd;
  agent?: AgentProcess;
  conn?: ContainerdConnection;
  runtime?: ContainerRuntime;
  live: Map<string, BenchPath>;
  logDirs: string[];
}

/** Starts containerd and the agent, measures every path and sums the samples up. */
async function run(parts: BenchParts, options: BenchOptions, interrupted: AbortSignal): Promise<BenchResult> {
  const { containerd } = parts;
  await containerd.start();
  say(`containerd pid ${containerd.pid} on ${containerd.socketPath}`);
  await containerd.importImage(path.join(root, TEST_IMAGE_TAR), TEST_IMAGE_BASE, BENCH_NAMESPACE);
  const conn = containerd.connect(BENCH_NAMESPACE);
  const runtime = new ContainerRuntime(conn, { snapshotter: SNAPSHOTTER });
  Object.assign(parts, { conn, runtime });
  const stale = await removeAllContainers(runtime);
  if (stale > 0) say(`removed ${stale} container(s) left by an earlier run`);
  const image = await new ImageResolver(conn).resolve(TEST_IMAGE);
  const machine = await describeMachine(conn);

  const agentLogDir = await tempLogDir();
  const directLogDir = await mkdtemp(path.join(os.tmpdir(), "fsb-bench-direct-"));
  parts.logDirs.push(agentLogDir, directLogDir);
  const agent = await startAgentProcess({
    socketPath: containerd.socketPath,
    namespace: BENCH_NAMESPACE,
    agentId: AGENT_ID,
    capacity: Math.min(MAX_AGENT_CAPACITY, options.warmup + options.runs),
    logDir: agentLogDir,
  });
  parts.agent = agent;
  say(`fsb-agent pid ${agent.pid} on ${agent.url}`);
  await callAgent(agent, "PUT", "/api/v1/agent/prewarm", JSON.stringify({ templates: [prewarmTemplate] }));
  await waitPrewarmReady(agent);

  const paths = [
    agentPath(agent),
    directPath(conn, runtime, image, directLogDir),
    ctrPath(containerd.socketPath),
    prewarmPath(agent),
  ];
  const date = new Date().toISOString();
  const samplesMs = await measure(paths, options, parts.live, interrupted);
  return summarizeRun(date, machine, options, paths, samplesMs);
}

function summarizeRun(
  date: string,
  machine: MachineInfo,
  options: BenchOptions,
  paths: readonly BenchPath[],
  samplesMs: Record<PathName, number[]>,
): BenchResult {
  const summaries = paths.map((p) => summarize(p.name, samplesMs[p.name]));
  const p50 = (name: PathName) => summaries.find((s) => s.path === name)?.p50 ?? Number.NaN;
  const agentOverDirect = p50("agent") / p50("direct");
  const prewarmP50 = p50("prewarm");
  return {
    date,
    machine,
    runs: options.runs,
    warmup: options.warmup,
    summaries,
    agentOverDirect,
    ctrOverDirect: p50("ctr") / p50("direct"),
    targetRatio: TARGET_RATIO,
    targetMet: agentOverDirect <= TARGET_RATIO,
    prewarm: {
      p50: prewarmP50,
      p90: percentile(
        [...samplesMs.prewarm].sort((a, b) => a - b),
        P90,
      ),
      targetP50: PREWARM_TARGET_P50_MS,
      targetMet: prewarmP50 < PREWARM_TARGET_P50_MS,
    },
    samplesMs,
  };
}

/** Tears everything down in order; each step runs even if an earlier one failed. Returns 1 on any failure. */
async function cleanUp(parts: BenchParts): Promise<number> {
  let status = 0;
  const step = async (what: string, action: () => Promise<unknown>) => {
    try {
      await action();
    } catch (err) {
      status = 1;
      say(`cleanup: ${what} failed: ${(err as Error).message}`);
    }
  };
  // A run cut short leaves the floor's anchor and at most one container per path; each path removes its own first.
  for (const [id, benchPath] of parts.live) await step(`teardown of ${id}`, () => benchPath.teardown(id));
  const { agent, runtime } = parts;
  if (agent) await step("stopping fsb-agent", () => agent.stop());
  // Whatever is still in the namespace (whatever the path) is ours: remove it before containerd goes.
  if (runtime) {
    await step("removing leftover containers", async () => {
      const left = await removeAllContainers(runtime);
      if (left > 0) say(`cleanup: removed ${left} leftover container(s)`);
    });
  }
  for (const dir of parts.logDirs) await step(`removing ${dir}`, () => removeLogDir(dir));
  await step("stopping containerd", () => parts.containerd.stop());
  return status;
}

// The gRPC and HTTP keep-alive sessions would hold the loop open; the report is written, so exit.
process.exit(await main());

/**
 * Benchmark: `echo hi` in a running sandbox through the SDK (controller + agent) and through the
 * agent alone, against the direct containerd Tasks.Exec floor on the same sandbox; and the time to a
 * first command after a create, prewarmed and cold.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { FastSandbox } from "@fast-sandbox/sdk";
import type { ContainerdConnection } from "../packages/server/src/containerd/connection.ts";
import { ContainerRuntime } from "../packages/server/src/containerd/container-runtime.ts";
import { isProcessAlive } from "../packages/server/src/core/process-alive.ts";
import { PrivateContainerd } from "../packages/server/src/standalone/private-containerd.ts";
import { TEST_IMAGE, TEST_IMAGE_BASE, TEST_IMAGE_TAR } from "../test/harness/constants.ts";
import { type ControllerProcess, startControllerProcess } from "../test/harness/controller-process.ts";
import { describeMachine, loadAverage } from "./e2e-report.ts";
import { measureFirstCommand, TARGET_FIRST_COMMAND_P50_MS } from "./exec-first-command.ts";
import { ExecFloor } from "./exec-floor.ts";
import { type AgentTarget, agentPath, ECHO_ARGV, type ExecPath, floorPath, sdkPath } from "./exec-paths.ts";
import {
  type ExecBenchResult,
  execLatencyResult,
  firstCommandResult,
  formatExecReport,
  TARGET_EXEC_OVER_FLOOR,
  throughputResult,
} from "./exec-report.ts";
import { measureThroughput } from "./files-throughput.ts";

const root = path.resolve(import.meta.dirname, "..");
/** The benchmark's own containerd, never the system's nor the dev/test/other benches' ones. */
const CONTAINERD_DIR = path.join(root, ".fsb-dev/bench-exec-containerd");
const AGENT_NAMESPACE = "fsb-bench-exec";
/** Sandboxes live in the namespace of the controller's default pool. */
const SANDBOX_NAMESPACE = "default";
/** One local agent: every sandbox, prewarmed containers included, is on it. */
const AGENTS = 1;
const AGENT_CAPACITY = 4;
const DEFAULT_RUNS = 100;
/** Fewer samples make p95/p99 meaningless. */
const MIN_RUNS = 30;
const DEFAULT_WARMUP = 5;
/** Each first-command run waits for a refill; 30 per path give a stable p50 and a usable p95. */
const DEFAULT_FIRST_RUNS = 30;
const EXIT_INTERRUPTED = 130;
const PROGRESS_EVERY = 25;
const AGENT_STOP_TIMEOUT_MS = 15_000;
const STOP_POLL_MS = 50;
/** Each round moves 100 MB three times; three rounds give a median that one slow round does not move. */
const DEFAULT_TRANSFER_RUNS = 3;

interface BenchOptions {
  runs: number;
  warmup: number;
  firstRuns: number;
  transferRuns: number;
  json: boolean;
}

const usage = `Usage: node bench/exec.ts [--runs N] [--warmup N] [--first-runs N] [--transfer-runs N] [--json]

Runs \`echo hi\` in a running busybox sandbox (image cached) on a private containerd through a real
fsb-controller with one local agent: with the SDK's sandbox.exec, with the agent's exec route alone,
and straight over containerd (Tasks.Exec, Start, Wait, output read: the floor), interleaved. Then
times create + \`echo hi\` at the client, from a prewarmed container and cold, interleaved. Then
moves 100 MB into the sandbox and back out through the API, against \`cat\` through a local pipe.

  --runs N        timed execs per path (default ${DEFAULT_RUNS}, at least ${MIN_RUNS})
  --warmup N      untimed execs per path first (default ${DEFAULT_WARMUP})
  --first-runs N  timed create + echo runs per path (default ${DEFAULT_FIRST_RUNS})
  --transfer-runs N  100 MB upload + download + cat rounds (default ${DEFAULT_TRANSFER_RUNS}; 0 skips them)
  --json          print the results, with every sample, as JSON
`;

function parseOptions(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      runs: { type: "string" },
      warmup: { type: "string" },
      "first-runs": { type: "string" },
      "transfer-runs": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return undefined;
  const runs = wholeNumber(values.runs, DEFAULT_RUNS, "--runs");
  if (runs < MIN_RUNS) throw new Error(`--runs must be at least ${MIN_RUNS}, got ${runs}`);
  const firstRuns = wholeNumber(values["first-runs"], DEFAULT_FIRST_RUNS, "--first-runs");
  if (firstRuns < 1) throw new Error("--first-runs must be at least 1");
  return {
    runs,
    warmup: wholeNumber(values.warmup, DEFAULT_WARMUP, "--warmup"),
    firstRuns,
    transferRuns: wholeNumber(values["transfer-runs"], DEFAULT_TRANSFER_RUNS, "--transfer-runs"),
    json: !!values.json,
  };
}

function wholeNumber(raw: string | undefined, fallback: number, flag: string): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${flag} must be a whole number, got "${raw}"`);
  return Number(raw);
}

function say(message: string): void {
  process.stderr.write(`[bench:exec] ${message}\n`);
}

/** The 6 orders of 3 paths, taken in turn, so no path always runs first or after the same one. */
function orders<T>(items: readonly [T, T, T]): T[][] {
  const [a, b, c] = items;
  return [
    [a, b, c],
    [a, c, b],
    [b, a, c],
    [b, c, a],
    [c, a, b],
    [c, b, a],
  ];
}

async function measureExec(
  paths: readonly [ExecPath, ExecPath, ExecPath],
  options: BenchOptions,
  signal: AbortSignal,
): Promise<Record<ExecPath["name"], number[]>> {
  const samples: Record<ExecPath["name"], number[]> = { sdk: [], agent: [], floor: [] };
  const cycle = orders(paths);
  for (let i = 0; i < options.warmup + options.runs; i++) {
    for (const p of cycle[i % cycle.length] as ExecPath[]) {
      signal.throwIfAborted();
      const ms = await p.exec();
      if (i >= options.warmup) samples[p.name].push(ms);
    }
    const done = i + 1 - options.warmup;
    if (done > 0 && (done % PROGRESS_EVERY === 0 || done === options.runs))
      say(`exec: ${done}/${options.runs} timed iterations`);
  }
  return samples;
}

/** Where the controller's one local agent listens, from its launcher's state file. */
async function localAgentTarget(
  ctl: ControllerProcess,
  sandboxId: string,
): Promise<AgentTarget & { pid: number }> {
  const file = path.join(ctl.dataDir, "agents", "local-agents.json");
  const agents = JSON.parse(await readFile(file, "utf8")) as Array<{
    agentId: string;
    port: number;
    pid: number;
  }>;
  const agent = agents[0];
  if (!agent) throw new Error(`no local agent in ${file}`);
  return { url: `http://127.0.0.1:${agent.port}`, token: ctl.agentToken, sandboxId, pid: agent.pid };
}

async function agentGet(target: AgentTarget, route: string): Promise<string> {
  const res = await fetch(`${target.url}${route}`, { headers: { authorization: `Bearer ${target.token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`agent GET ${route} answered ${res.status}: ${text}`);
  return text;
}

/** The private containerd, the controller with its agent, the benchmark's sandbox and the floor on it. */
async function startSystem(parts: Parts) {
  const { containerd } = parts;
  await containerd.start();
  say(`containerd pid ${containerd.pid} on ${containerd.socketPath}`);
  await containerd.importImage(path.join(root, TEST_IMAGE_TAR), TEST_IMAGE_BASE, AGENT_NAMESPACE);
  const conn = containerd.connect(AGENT_NAMESPACE);
  parts.conn = conn;
  parts.runtime = new ContainerRuntime(conn, { snapshotter: "overlayfs" });
  const stale = await removeAll(parts.runtime);
  if (stale > 0) say(`removed ${stale} container(s) left by an earlier run`);
  const machine = await describeMachine(conn);
  const ctl = await startControllerProcess({
    socketPath: containerd.socketPath,
    localAgents: AGENTS,
    capacity: AGENT_CAPACITY,
    probeInterval: "2s",
    lossTimeout: "15s",
    extraArgs: ["--containerd-namespace", AGENT_NAMESPACE],
  });
  parts.ctl = ctl;
  const fsb = new FastSandbox({ endpoint: ctl.url, token: ctl.token, namespace: SANDBOX_NAMESPACE });
  const box = await fsb.sandboxes.create({
    name: "exec-bench",
    image: TEST_IMAGE,
    command: ["sleep", "3600"],
  });
  const target = await localAgentTarget(ctl, box.id);
  parts.agentPid = target.pid;
  say(`fsb-controller pid ${ctl.pid} on ${ctl.url}, agent pid ${target.pid}, sandbox ${box.id}`);
  parts.fifoDir = await mkdtemp(path.join(os.tmpdir(), "fsb-bench-exec-"));
  const floor = new ExecFloor(conn, box.id, parts.fifoDir);
  await floor.prepare(ECHO_ARGV);
  return { machine, ctl, fsb, box, target, floor };
}

/** The agent's prewarm counters, read from its /metrics and status routes. */
function prewarmProbes(target: AgentTarget) {
  return {
    prewarmTakes: async () => {
      const metrics = await agentGet(target, "/metrics");
      return Number(/^fsb_agent_prewarm_takes_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
    },
    prewarmReady: async () => {
      const status = JSON.parse(await agentGet(target, "/api/v1/agent/status")) as {
        prewarm: { templates: Array<{ ready: number }> };
      };
      return status.prewarm.templates[0]?.ready ?? 0;
    },
  };
}

async function run(parts: Parts, options: BenchOptions, signal: AbortSignal): Promise<ExecBenchResult> {
  const { machine, ctl, fsb, box, target, floor } = await startSystem(parts);
  const date = new Date().toISOString();
  const loadStart = loadAverage();
  const execSamples = await measureExec([sdkPath(box), agentPath(target), floorPath(floor)], options, signal);
  const transfers = await measureThroughput(box, options.transferRuns, signal, say);
  await box.delete({ gracePeriodSeconds: 0 });
  const first = await measureFirstCommand(
    { fsb, pools: ctl.pools, ...prewarmProbes(target) },
    options.firstRuns,
    signal,
    say,
  );
  return {
    date,
    machine,
    loadAverage: { start: loadStart, end: loadAverage() },
    setup: [
      `system:     fsb-controller process, ${AGENTS} local agent, private containerd (${path.relative(root, CONTAINERD_DIR)})`,
      "client:     @fast-sandbox/sdk FastSandbox (Connect over HTTP/1.1, kept-alive), timed in the benchmark process",
    ],
    targets: { execOverFloor: TARGET_EXEC_OVER_FLOOR, firstCommandP50Ms: TARGET_FIRST_COMMAND_P50_MS },
    exec: execLatencyResult(
      [
        `${options.runs} runs per path after ${options.warmup} warm-up, one at a time, on one sandbox`,
        "paths interleaved in all 6 orders in turn",
        "sdk:   sandbox.exec(['echo','hi']) until it resolves (controller → agent → containerd)",
        "agent: POST /api/v1/agent/exec on the agent (fetch), until the NDJSON stream ends",
        "floor: Tasks.Exec + Start + Wait + both outputs read to EOF over containerd's API; the two",
        "       FIFOs are made untimed before each run (mknod(2) in a Go client; Node has none)",
      ],
      execSamples,
    ),
    firstCommand: firstCommandResult(
      [
        `${options.firstRuns} runs per path, alternating which goes first; fast-mode create through the SDK`,
        "prewarmed: spec matches the pool's prewarm template (2 kept on the agent); cold: it does not",
        "between runs (untimed): delete, wait until gone, wait until the agent has 2 prewarmed ready",
      ],
      first,
    ),
    throughput: throughputResult(
      [
        `${options.transferRuns} rounds, each: cat pipe, upload, download (one at a time, same 100 MB content)`,
        "upload:   sandbox.files.upload(path, async iterable of 64 KiB pieces) until it resolves",
        "download: sandbox.files.download(path), every chunk read, until the stream ends",
        "cat pipe: the same pieces written into `cat`'s stdin and its stdout read by this process",
      ],
      transfers,
    ),
  };
}

interface Parts {
  containerd: PrivateContainerd;
  conn?: ContainerdConnection;
  runtime?: ContainerRuntime;
  ctl?: ControllerProcess;
  agentPid?: number;
  fifoDir?: string;
}

async function removeAll(runtime: ContainerRuntime): Promise<number> {
  const containers = await runtime.list({});
  for (const c of containers) await runtime.delete(c.id, { gracePeriodMs: 0 });
  return containers.length;
}

/** Tears down what was started, each step even if an earlier one failed; 1 on any failure. */
async function cleanUp(parts: Parts): Promise<number> {
  let status = 0;
  const step = async (what: string, action: () => Promise<unknown>) => {
    try {
      await action();
    } catch (err) {
      status = 1;
      say(`cleanup: ${what} failed: ${(err as Error).message}`);
    }
  };
  const { ctl, containerd, agentPid } = parts;
  if (ctl && isProcessAlive(ctl.pid)) await step("deleting sandboxes through the API", () => ctl.cleanup());
  if (ctl) await step("stopping fsb-controller", () => ctl.stop());
  if (agentPid && isProcessAlive(agentPid)) {
    await step("stopping the local agent", async () => {
      process.kill(agentPid, "SIGTERM");
      const deadline = Date.now() + AGENT_STOP_TIMEOUT_MS;
      while (isProcessAlive(agentPid) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, STOP_POLL_MS));
      if (isProcessAlive(agentPid)) process.kill(agentPid, "SIGKILL");
    });
  }
  if (ctl) await step(`removing ${ctl.dataDir}`, () => rm(ctl.dataDir, { recursive: true, force: true }));
  const { runtime } = parts;
  if (runtime && containerd.pid && isProcessAlive(containerd.pid)) {
    await step("removing leftover containers", async () => {
      const left = await removeAll(runtime);
      if (left > 0) say(`cleanup: removed ${left} leftover container(s)`);
    });
  }
  parts.conn?.close();
  const { fifoDir } = parts;
  if (fifoDir) await step(`removing ${fifoDir}`, () => rm(fifoDir, { recursive: true, force: true }));
  await step("stopping containerd", () => containerd.stop());
  return status;
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
  const parts: Parts = { containerd: new PrivateContainerd({ dir: CONTAINERD_DIR }) };
  let status = 0;
  try {
    const result = await run(parts, options, interrupt.signal);
    process.stdout.write(`${options.json ? JSON.stringify(result, null, 2) : formatExecReport(result)}\n`);
  } catch (err) {
    if (interrupt.signal.aborted) status = EXIT_INTERRUPTED;
    else {
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

// The HTTP keep-alive and gRPC sessions would hold the loop open; the report is written, so exit.
process.exit(await main());

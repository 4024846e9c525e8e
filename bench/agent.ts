/**
 * Benchmark: sandbox create+start latency through fsb-agent vs. the direct containerd floor and
 * `ctr run -d`, and a create that fsb-agent serves from a prewarmed container.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseCreateRequest } from "../packages/server/src/agent/agent-requests.ts";
import { buildSandboxOciSpec } from "../packages/server/src/agent/build-oci-spec.ts";
import { sandboxLabels } from "../packages/server/src/agent/sandbox-spec.ts";
import { ContainerdConnection } from "../packages/server/src/containerd/connection.ts";
import { ContainerRuntime, RUNC_SHIM } from "../packages/server/src/containerd/container-runtime.ts";
import { ignoreNotFound } from "../packages/server/src/containerd/errors.ts";
import { ImageResolver, type ResolvedImage } from "../packages/server/src/containerd/image-resolver.ts";
import { specToAny } from "../packages/server/src/containerd/spec-any.ts";
import { PrivateContainerd } from "../packages/server/src/standalone/private-containerd.ts";
import {
  type AgentProcess,
  removeLogDir,
  startAgentProcess,
  tempLogDir,
} from "../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_IMAGE_BASE, TEST_IMAGE_TAR } from "../test/harness/constants.ts";
import { formatTable, type LatencySummary, ms, percentile, summarize } from "./stats.ts";

const root = path.resolve(import.meta.dirname, "..");
/** The benchmark's own containerd, never the system's nor the dev/test ones. */
const CONTAINERD_DIR = path.join(root, ".fsb-dev/bench-containerd");
/** All three paths create their containers in this namespace of the bench containerd. */
const BENCH_NAMESPACE = "fsb-bench";
/** The agent under test; its sandboxes share the shim group named after it. */
const AGENT_ID = "bench-agent";
/** The direct path's spec gets its own shim group (its own shim), like a second agent would. */
const DIRECT_AGENT_ID = "bench-direct";
const SNAPSHOTTER = "overlayfs";
/**
 * The direct path's snapshots are created under this one lease, held for the whole run: without
 * any lease, containerd's GC removed a freshly prepared snapshot before Containers.Create
 * referenced it ("failed to mount rootfs component … no such file or directory").
 */
const DIRECT_LEASE_ID = "fsb-bench-direct";
/** Should the bench crash, its lease expires on its own so GC can reclaim what it holds. */
const LEASE_EXPIRY_MS = 60 * 60 * 1000;
/** What every sandbox runs: long enough that nothing exits during a run. */
const COMMAND = ["sleep", "3600"];
/**
 * What the prewarmed path's sandboxes run. It differs from {@link COMMAND}, so the agent path's
 * creates never match the prewarm template and keep measuring a create from nothing.
 */
const PREWARM_COMMAND = ["sleep", "3601"];
/** Prewarmed containers the agent keeps; each timed take is followed by an untimed wait for the refill. */
const PREWARM_COUNT = 2;
/** The design's goal for a create served from a prewarmed container, at the client. */
const PREWARM_TARGET_P50_MS = 20;
/** The prewarmed path also reports this percentile (the table has p95 and p99). */
const P90 = 90;
/** How often the untimed refill wait polls the agent's status. */
const REFILL_POLL_MS = 5;

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
/** Bound on one HTTP call or ctr process; a create takes ~100 ms, so this only catches hangs. */
const CALL_TIMEOUT_MS = 30_000;
/** A progress line is printed every this many iterations. */
const PROGRESS_EVERY = 10;
/** Conventional exit status after SIGINT. */
const EXIT_INTERRUPTED = 130;

type PathName = "agent" | "direct" | "ctr" | "prewarm";

/** One way of getting a running sandbox: a timed create+start and an untimed teardown. */
interface BenchPath {
  name: PathName;
  /**
   * Whether the bench keeps an anchor container on the path's shared shim. Such a shim exits when
   * its last container is deleted. fsb-agent keeps its own anchor (as users get it), so the agent
   * paths get nothing from the bench; the direct floor has no agent, so it gets one, and so stands
   * for containerd's cost with a running shim.
   */
  needsAnchor: boolean;
  /** Creates and starts container `id`; resolves to the timed part in milliseconds. */
  createStart(id: string): Promise<number>;
  /** Removes container `id` and everything it left; untimed and idempotent. */
  teardown(id: string): Promise<void>;
}

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

/** The create request the agent gets; the direct path parses the same body into the same spec. */
function createBody(id: string) {
  return { sandbox: { sandboxId: id, name: id, image: TEST_IMAGE, command: COMMAND } };
}

/** Sends JSON with the agent's token; throws unless the answer is 200, else returns the parsed answer. */
async function callAgent(
  agent: AgentProcess,
  method: "GET" | "POST" | "PUT",
  route: string,
  body?: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${agent.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${agent.token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`agent ${method} ${route} answered ${res.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** POSTs JSON with the agent's token; throws unless the answer is 200. */
async function postAgent(agent: AgentProcess, route: string, body: string): Promise<Record<string, unknown>> {
  return callAgent(agent, "POST", route, body);
}

/** Path 1: the full product path, timed at the HTTP client (keep-alive connection). */
function agentPath(agent: AgentProcess): BenchPath {
  return {
    name: "agent",
    needsAnchor: false,
    async createStart(id) {
      const body = JSON.stringify(createBody(id));
      const started = performance.now();
      await postAgent(agent, "/api/v1/agent/create", body);
      return performance.now() - started;
    },
    async teardown(id) {
      await postAgent(
        agent,
        "/api/v1/agent/delete",
        JSON.stringify({ sandboxId: id, gracePeriodSeconds: 0 }),
      );
    },
  };
}

/** The prewarm template of path 4, as `PUT /api/v1/agent/prewarm` takes it. */
const prewarmTemplate = { image: TEST_IMAGE, command: PREWARM_COMMAND, count: PREWARM_COUNT };

/** Untimed: waits until the agent has every prewarmed container of the template ready again. */
async function waitPrewarmReady(agent: AgentProcess): Promise<void> {
  const deadline = Date.now() + CALL_TIMEOUT_MS;
  for (;;) {
    const status = await callAgent(agent, "GET", "/api/v1/agent/status");
    const templates = (status.prewarm as { templates: Array<{ ready: number; error?: string }> }).templates;
    const template = templates[0];
    if (template?.ready === PREWARM_COUNT) return;
    if (template?.error) throw new Error(`the agent cannot prewarm: ${template.error}`);
    if (Date.now() > deadline) throw new Error(`prewarmed containers not ready after ${CALL_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, REFILL_POLL_MS));
  }
}

/**
 * Path 4: a create the agent serves by starting a prewarmed container, timed at the HTTP client as
 * path 1 is. A create that did not get one fails the run rather than skew the numbers; the teardown
 * waits (untimed) for the refill, so no other path's timed create overlaps it.
 */
function prewarmPath(agent: AgentProcess): BenchPath {
  return {
    name: "prewarm",
    // Its containers run on the agent's shim, which the agent's own anchor keeps up.
    needsAnchor: false,
    async createStart(id) {
      const body = JSON.stringify({
        sandbox: { sandboxId: id, name: id, image: TEST_IMAGE, command: PREWARM_COMMAND },
      });
      const started = performance.now();
      const answer = await postAgent(agent, "/api/v1/agent/create", body);
      const elapsed = performance.now() - started;
      if (answer.prewarmed !== true)
        throw new Error(`create ${id} was not served from a prewarmed container`);
      return elapsed;
    },
    async teardown(id) {
      await postAgent(
        agent,
        "/api/v1/agent/delete",
        JSON.stringify({ sandboxId: id, gracePeriodSeconds: 0 }),
      );
      await waitPrewarmReady(agent);
    },
  };
}

/**
 * Path 2, the floor: only the four containerd calls a create cannot do without, with the spec
 * and labels the agent would send (built untimed), no per-run lease calls (the run-wide lease
 * rides along as a header) and no per-run image resolve.
 */
function directPath(
  conn: ContainerdConnection,
  runtime: ContainerRuntime,
  image: ResolvedImage,
  logDir: string,
): BenchPath {
  const logPath = (id: string) => path.join(logDir, `${id}.log`);
  const leased = ContainerdConnection.withLease(DIRECT_LEASE_ID);
  return {
    name: "direct",
    needsAnchor: true,
    async createStart(id) {
      const spec = parseCreateRequest(createBody(id));
      const oci = buildSandboxOciSpec(spec, image.config, {
        agentId: DIRECT_AGENT_ID,
        runtime: "container",
        network: { kind: "agent" },
        agentPid: process.pid,
      });
      const labels = sandboxLabels(spec, {
        agentId: DIRECT_AGENT_ID,
        pool: "bench",
        createdAt: new Date(),
        logPath: logPath(id),
      });
      const logUri = `file://${logPath(id)}`;
      const started = performance.now();
      const prepared = await conn.snapshots.prepare(
        { snapshotter: SNAPSHOTTER, key: id, parent: image.chainId },
        leased,
      );
      await conn.containers.create({
        container: {
          id,
          labels,
          image: image.name,
          runtime: { name: RUNC_SHIM },
          spec: specToAny(oci),
          snapshotter: SNAPSHOTTER,
          snapshotKey: id,
        },
      });
      await conn.tasks.create({ containerId: id, rootfs: prepared.mounts, stdout: logUri, stderr: logUri });
      await conn.tasks.start({ containerId: id });
      return performance.now() - started;
    },
    async teardown(id) {
      await runtime.delete(id, { gracePeriodMs: 0 });
      await rm(logPath(id), { force: true });
    },
  };
}

/** Path 3: the stock client, timed as a whole process (its own start-up included). */
function ctrPath(socketPath: string): BenchPath {
  const ctr = (...args: string[]) =>
    runProcess("ctr", ["--address", socketPath, "--namespace", BENCH_NAMESPACE, ...args]);
  return {
    name: "ctr",
    needsAnchor: false,
    async createStart(id) {
      const started = performance.now();
      await ctr("run", "-d", TEST_IMAGE, id, ...COMMAND);
      return performance.now() - started;
    },
    async teardown(id) {
      // `task rm -f` kills with SIGKILL and waits for the exit; ctr also removes the FIFOs `run` made.
      await ctr("task", "rm", "-f", id);
      await ctr("container", "rm", id);
    },
  };
}

/** Runs a program to completion; rejects with its stderr on a non-zero exit. */
function runProcess(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], timeout: CALL_TIMEOUT_MS });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${file} ${args.join(" ")} failed (${signal ?? code}): ${stderr.trim()}`));
    });
  });
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

/** (Re)creates the direct path's run-wide lease, with an expiry in case the bench dies. */
async function createDirectLease(conn: ContainerdConnection): Promise<void> {
  await dropDirectLease(conn);
  const expire = new Date(Date.now() + LEASE_EXPIRY_MS).toISOString();
  await conn.leases.create({ id: DIRECT_LEASE_ID, labels: { "containerd.io/gc.expire": expire } });
}

/**
 * Deletes the run-wide lease. `sync` makes containerd run its garbage collection before answering,
 * so the snapshot directories of removed containers are gone before containerd is stopped.
 */
async function dropDirectLease(conn: ContainerdConnection): Promise<void> {
  await ignoreNotFound(`delete lease ${DIRECT_LEASE_ID}`, () =>
    conn.leases.delete({ id: DIRECT_LEASE_ID, sync: true }),
  );
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

  const containerd = new PrivateContainerd({ dir: CONTAINERD_DIR });
  const live = new Map<string, BenchPath>();
  let agent: AgentProcess | undefined;
  let conn: ContainerdConnection | undefined;
  let runtime: ContainerRuntime | undefined;
  let agentLogDir: string | undefined;
  let directLogDir: string | undefined;
  let status = 0;
  try {
    await containerd.start();
    say(`containerd pid ${containerd.pid} on ${containerd.socketPath}`);
    await containerd.importImage(path.join(root, TEST_IMAGE_TAR), TEST_IMAGE_BASE, BENCH_NAMESPACE);
    conn = containerd.connect(BENCH_NAMESPACE);
    runtime = new ContainerRuntime(conn, { snapshotter: SNAPSHOTTER });
    const stale = await removeAllContainers(runtime);
    if (stale > 0) say(`removed ${stale} container(s) left by an earlier run`);
    await createDirectLease(conn);
    const image = await new ImageResolver(conn).resolve(TEST_IMAGE);
    const machine = await describeMachine(conn);

    agentLogDir = await tempLogDir();
    directLogDir = await mkdtemp(path.join(os.tmpdir(), "fsb-bench-direct-"));
    agent = await startAgentProcess({
      socketPath: containerd.socketPath,
      namespace: BENCH_NAMESPACE,
      agentId: AGENT_ID,
      capacity: Math.min(MAX_AGENT_CAPACITY, options.warmup + options.runs),
      logDir: agentLogDir,
    });
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
    const samplesMs = await measure(paths, options, live, interrupt.signal);
    const summaries = paths.map((p) => summarize(p.name, samplesMs[p.name]));
    const p50 = (name: PathName) => summaries.find((s) => s.path === name)?.p50 ?? Number.NaN;
    const agentOverDirect = p50("agent") / p50("direct");
    const prewarmP50 = p50("prewarm");
    const result: BenchResult = {
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
    process.stdout.write(`${options.json ? JSON.stringify(result, null, 2) : report(result)}\n`);
  } catch (err) {
    if (interrupt.signal.aborted) {
      status = EXIT_INTERRUPTED;
    } else {
      say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (agent) say(`agent output:\n${agent.output()}`);
      status = 1;
    }
  } finally {
    const cleanupStatus = await cleanUp({
      containerd,
      agent,
      conn,
      runtime,
      live,
      logDirs: [agentLogDir, directLogDir],
    });
    if (status === 0) status = cleanupStatus;
  }
  return status;
}

/** Tears everything down in order; each step runs even if an earlier one failed. Returns 1 on any failure. */
async function cleanUp(parts: {
  containerd: PrivateContainerd;
  agent: AgentProcess | undefined;
  conn: ContainerdConnection | undefined;
  runtime: ContainerRuntime | undefined;
  live: Map<string, BenchPath>;
  logDirs: Array<string | undefined>;
}): Promise<number> {
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
  const { agent, conn, runtime } = parts;
  if (agent) await step("stopping fsb-agent", () => agent.stop());
  // Whatever is still in the namespace (whatever the path) is ours: remove it before containerd goes.
  if (runtime) {
    await step("removing leftover containers", async () => {
      const left = await removeAllContainers(runtime);
      if (left > 0) say(`cleanup: removed ${left} leftover container(s)`);
    });
  }
  if (conn) await step("dropping the direct path's lease", () => dropDirectLease(conn));
  for (const dir of parts.logDirs) if (dir) await step(`removing ${dir}`, () => removeLogDir(dir));
  await step("stopping containerd", () => parts.containerd.stop());
  return status;
}

// The gRPC and HTTP keep-alive sessions would hold the loop open; the report is written, so exit.
process.exit(await main());

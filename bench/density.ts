/**
 * Benchmark: density. A standalone system (private containerd, fsb-controller, 4 local agents × 250
 * slots, janitor) fills to 1,000 running `sleep` sandboxes at concurrency 8, then deletes them all.
 * It prints create latency by fill level, agent health throughout, ListSandboxes of all of them,
 * our memory overhead per sandbox, and the time until every resource is gone.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { ConsistencyMode } from "../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { TEST_IMAGE } from "../test/harness/constants.ts";
import { type BenchSystem, type Leftovers, startBenchSystem } from "./bench-system.ts";
import { type FloorSamples, floorCreates } from "./density-floor.ts";
import { type DensityResult, formatDensityReport } from "./density-report.ts";
import { cpuByGroup, machineBusySeconds, memAvailableBytes, rssByGroup } from "./process-memory.ts";
import { summarize } from "./stats.ts";

const DEFAULT_SANDBOXES = 1000;
const DEFAULT_AGENTS = 4;
const DEFAULT_CAPACITY = 250;
const DEFAULT_CONCURRENCY = 8;
/** Fill levels whose create latencies are compared (the target: the last within 1.5× of the first). */
const BUCKET = 100;
/** ListSandboxes calls timed at full density. */
const LIST_RUNS = 20;
/** How often agent health is read from the controller during the run. */
const HEALTH_POLL_MS = 500;
/** Memory is read after this much quiet, so the last creates' transient allocations have settled. */
const SETTLE_MS = 5000;
/** Bound on one create or delete call: far above any healthy latency, only catches hangs. */
const CALL_TIMEOUT_MS = 60_000;
/**
 * After the deletes, how long everything may take to be gone before the run counts it as a leak.
 * A teardown costs about as much CPU as a create (runc, unmounts, cgroups), so on 2 CPUs 1,000 of
 * them take minutes, not seconds.
 */
const GONE_TIMEOUT_MS = 600_000;
const GONE_POLL_MS = 100;
const EXIT_INTERRUPTED = 130;
const COMMAND = ["sleep", "3600"];
/** Where a run that failed or leaked keeps the system's logs. */
const LOGS_DIR = path.resolve(import.meta.dirname, "../.fsb-dev/bench-density-logs");

const usage = `Usage: node bench/density.ts [--sandboxes N] [--agents N] [--capacity N] [--concurrency N] [--json]

Fills a standalone system to N running busybox \`sleep 3600\` sandboxes (fast mode, image cached) at
the given concurrency, then deletes them all; prints latency by fill level, agent health, list
latency, memory overhead per sandbox and the time until everything is gone.

  --sandboxes N    sandboxes to create (default ${DEFAULT_SANDBOXES}, a multiple of ${BUCKET})
  --agents N       local agents in the pool (default ${DEFAULT_AGENTS})
  --capacity N     slots per agent (default ${DEFAULT_CAPACITY})
  --concurrency N  creates in flight at once (default ${DEFAULT_CONCURRENCY})
  --json           print the result as JSON
`;

interface Options {
  sandboxes: number;
  agents: number;
  capacity: number;
  concurrency: number;
  json: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      sandboxes: { type: "string" },
      agents: { type: "string" },
      capacity: { type: "string" },
      concurrency: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return undefined;
  const options = {
    sandboxes: count(values.sandboxes, DEFAULT_SANDBOXES, "--sandboxes"),
    agents: count(values.agents, DEFAULT_AGENTS, "--agents"),
    capacity: count(values.capacity, DEFAULT_CAPACITY, "--capacity"),
    concurrency: count(values.concurrency, DEFAULT_CONCURRENCY, "--concurrency"),
    json: !!values.json,
  };
  if (options.sandboxes % BUCKET !== 0) throw new Error(`--sandboxes must be a multiple of ${BUCKET}`);
  if (options.sandboxes > options.agents * options.capacity) {
    throw new Error(`--sandboxes ${options.sandboxes} exceeds --agents × --capacity`);
  }
  return options;
}

function count(raw: string | undefined, fallback: number, flag: string): number {
  if (raw === undefined) return fallback;
  if (!/^[1-9]\d*$/.test(raw)) throw new Error(`${flag} must be a positive whole number, got "${raw}"`);
  return Number(raw);
}

function say(message: string): void {
  process.stderr.write(`[bench:density] ${message}\n`);
}

/** Runs `work(i)` for i in [0, n) with at most `concurrency` in flight; the first failure stops new work. */
async function pool(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) await work(next++);
  });
  await Promise.all(lanes);
}

/** Watches the controller's view of agent health until stopped; records every unhealthy sighting. */
function watchHealth(system: BenchSystem): { stop(): Promise<string[]> } {
  const sightings: string[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${system.url}/api/v1/agents`, {
          headers: { authorization: `Bearer ${system.token}` },
        });
        if (res.ok) {
          const { agents } = (await res.json()) as { agents: Array<{ agentId: string; healthy: boolean }> };
          for (const a of agents) {
            if (!a.healthy) sightings.push(`${new Date().toISOString()} ${a.agentId} unhealthy`);
          }
        }
      } catch (err) {
        sightings.push(`${new Date().toISOString()} agent list failed: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, HEALTH_POLL_MS));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return sightings;
    },
  };
}

async function memory(system: BenchSystem) {
  const groups = await system.processes();
  return { rss: await rssByGroup(groups), available: await memAvailableBytes(), pids: groups };
}

/** CPU seconds so far, by process group and for the whole machine. */
async function cpu(system: BenchSystem) {
  return { byGroup: await cpuByGroup(await system.processes()), machine: await machineBusySeconds() };
}

async function waitGone(system: BenchSystem): Promise<{ ms: number; left: Leftovers }> {
  const started = performance.now();
  let left = await system.leftovers();
  while (performance.now() - started < GONE_TIMEOUT_MS) {
    const { storeRecords, listed, containers, tasks, snapshots, registrySlots } = left;
    if (storeRecords + listed + containers + tasks + snapshots + registrySlots === 0) break;
    await new Promise((r) => setTimeout(r, GONE_POLL_MS));
    left = await system.leftovers();
  }
  return { ms: performance.now() - started, left };
}

async function run(options: Options, signal: AbortSignal): Promise<DensityResult> {
  const system = await startBenchSystem({ agents: options.agents, capacity: options.capacity, say });
  let failed = true;
  try {
    const result = await measure(system, options, signal);
    failed = result.failures.length > 0 || Object.values(result.delete.leftovers).some((n) => n !== 0);
    return result;
  } finally {
    if (failed && !signal.aborted) {
      await system.saveLogs(LOGS_DIR);
      say(`the system's logs are in ${LOGS_DIR}`);
    }
    await system.close();
  }
}

async function measure(system: BenchSystem, options: Options, signal: AbortSignal): Promise<DensityResult> {
  const client = system.grpc;
  const floorBefore: FloorSamples = await floorCreates(system, "before");
  const before = await memory(system);
  const health = watchHealth(system);
  const latencies: number[] = new Array(options.sandboxes);
  const failures: string[] = [];
  const names = Array.from({ length: options.sandboxes }, (_, i) => `density-${String(i).padStart(4, "0")}`);
  const cpuBefore = await cpu(system);
  const fillStarted = performance.now();
  await pool(options.sandboxes, options.concurrency, async (i) => {
    signal.throwIfAborted();
    const started = performance.now();
    try {
      const { sandbox } = await client.createSandbox(
        { name: names[i], image: TEST_IMAGE, command: COMMAND, consistencyMode: ConsistencyMode.FAST },
        { timeoutMs: CALL_TIMEOUT_MS },
      );
      if (sandbox?.phase !== "Running") throw new Error(`phase ${sandbox?.phase}`);
      latencies[i] = performance.now() - started;
    } catch (err) {
      failures.push(`${names[i]}: ${(err as Error).message}`);
    }
    if ((i + 1) % BUCKET === 0) say(`${i + 1}/${options.sandboxes} created`);
  });
  const fillMs = performance.now() - fillStarted;
  const cpuAfter = await cpu(system);
  const { sandboxes: listedNow } = await client.listSandboxes({ namespace: "default" });
  const running = listedNow.filter((s) => s.phase === "Running").length;
  say(`filled in ${(fillMs / 1000).toFixed(1)} s: ${running} running, ${failures.length} failed; settling`);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const full = await memory(system);
  const listMs: number[] = [];
  for (let i = 0; i < LIST_RUNS; i++) {
    const started = performance.now();
    const { sandboxes } = await client.listSandboxes({ namespace: "default" });
    listMs.push(performance.now() - started);
    if (sandboxes.length !== running) throw new Error(`list answered ${sandboxes.length}, not ${running}`);
  }
  const floorAfter = await floorCreates(system, "after");
  const sightings = await health.stop();
  const lostLines = (await readFile(path.join(system.site.stateDir, "standalone.log"), "utf8"))
    .split("\n")
    .filter((l) => /agent lost|sandbox lost/.test(l));

  say("deleting every sandbox");
  const cpuBeforeDelete = await cpu(system);
  const deleteStarted = performance.now();
  await pool(options.sandboxes, options.concurrency, async (i) => {
    await client
      .deleteSandbox({ name: names[i], gracePeriodSeconds: 0 }, { timeoutMs: CALL_TIMEOUT_MS })
      .catch((err: Error) => {
        if (latencies[i] !== undefined) failures.push(`delete ${names[i]}: ${err.message}`);
      });
  });
  const deletesAnsweredMs = performance.now() - deleteStarted;
  const gone = await waitGone(system);
  const cpuAfterDelete = await cpu(system);
  const after = await memory(system);

  return {
    date: new Date().toISOString(),
    options,
    fillMs,
    fillCpu: { before: cpuBefore, after: cpuAfter },
    failures,
    running,
    buckets: bucketSummaries(latencies, options.sandboxes),
    floor: { before: floorBefore, after: floorAfter },
    list: summarize("ListSandboxes", listMs),
    health: { sightings, lostLines },
    memory: { before, full, after },
    delete: {
      answeredMs: deletesAnsweredMs,
      goneMs: deletesAnsweredMs + gone.ms,
      leftovers: gone.left,
      cpu: { before: cpuBeforeDelete, after: cpuAfterDelete },
    },
  };
}

function bucketSummaries(latencies: number[], n: number) {
  const out = [];
  for (let from = 0; from < n; from += BUCKET) {
    const samples = latencies.slice(from, from + BUCKET).filter((v) => v !== undefined);
    if (samples.length > 0)
      out.push({ from, to: from + BUCKET, ...summarize(`${from}-${from + BUCKET}`, samples) });
  }
  return out;
}

async function main(): Promise<number> {
  let options: Options | undefined;
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
  try {
    const result = await run(options, interrupt.signal);
    process.stdout.write(`${options.json ? JSON.stringify(result, null, 2) : formatDensityReport(result)}\n`);
    return result.failures.length > 0 ? 1 : 0;
  } catch (err) {
    if (interrupt.signal.aborted) return EXIT_INTERRUPTED;
    say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}

process.exit(await main());

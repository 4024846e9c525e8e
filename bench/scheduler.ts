/** Benchmark: AgentRegistry allocate/release latency with 100, 1,000 and 10,000 agents in one pool. */
import { readFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { isFsbError } from "@fast-sandbox/api";
import type { AgentInfo } from "../packages/server/src/controller/registry/agent-info.ts";
import {
  AgentRegistry,
  type AllocationRequest,
} from "../packages/server/src/controller/registry/agent-registry.ts";
import { percentile } from "./stats.ts";

const POOL = "default-pool";
const NAMESPACE = "default";
const AGENT_COUNTS = [100, 1_000, 10_000];
/** maxSandboxesPerPod's default. */
const CAPACITY = 5;
/** Several agents share one address, as standalone agents share 127.0.0.1, so ports collide across agents. */
const AGENTS_PER_ADDRESS = 4;
/** The images in circulation; each agent caches a random few of them. */
const IMAGES = [
  "alpine",
  "busybox",
  "nginx:1.27",
  "redis:7",
  "python:3.12-slim",
  "node:24-slim",
  "golang:1.23",
  "ubuntu:24.04",
];
const IMAGES_PER_AGENT = 3;
/** Churn runs with the pool half full: there is always room, but the heaps are far from trivial. */
const FILL = 0.5;
/** Requests with a port draw it from this many; enough that some addresses already hold the drawn one. */
const PORT_RANGE = 32;
const FIRST_PORT = 8000;
const DEFAULT_ITERATIONS = 100_000;
const DEFAULT_WARMUP = 20_000;
/** The full-pool error path is O(n) by design; fewer samples keep the run short. */
const ERROR_PATH_DIVISOR = 20;
const NS_PER_US = 1_000;
const US_PER_S = 1_000_000;

interface Options {
  iterations: number;
  warmup: number;
  json: boolean;
}

interface Row {
  agents: number;
  operation: string;
  runs: number;
  p50: number;
  p99: number;
  mean: number;
  opsPerSecond: number;
}

const usage = `Usage: node bench/scheduler.ts [--iterations N] [--warmup N] [--json]

Times AgentRegistry.allocate and .release (in-memory, synchronous) for ${AGENT_COUNTS.join(", ")} agents
in one pool (capacity ${CAPACITY}, ${AGENTS_PER_ADDRESS} agents per address, ${IMAGES_PER_AGENT} of ${IMAGES.length} images cached each).

  --iterations N  timed operations per scenario (default ${DEFAULT_ITERATIONS})
  --warmup N      untimed operations per scenario first (default ${DEFAULT_WARMUP})
  --json          print the rows as JSON instead of a table
`;

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      iterations: { type: "string" },
      warmup: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return undefined;
  return {
    iterations: wholeNumber(values.iterations, DEFAULT_ITERATIONS, "--iterations", 1),
    warmup: wholeNumber(values.warmup, DEFAULT_WARMUP, "--warmup", 0),
    json: values.json === true,
  };
}

function wholeNumber(raw: string | undefined, fallback: number, flag: string, min: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) {
    throw new Error(`${flag} must be a whole number of at least ${min}, got "${raw}"`);
  }
  return Number(raw);
}

// A deterministic LCG, so every run places the same agents and requests.
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function buildRegistry(agentCount: number, random: () => number): AgentRegistry {
  const registry = new AgentRegistry();
  for (let i = 0; i < agentCount; i++) {
    const slot = Math.floor(i / AGENTS_PER_ADDRESS);
    const address = `10.${(slot >> 16) & 255}.${(slot >> 8) & 255}.${slot & 255}`;
    const images = [...IMAGES].sort(() => random() - 0.5).slice(0, IMAGES_PER_AGENT);
    const info: AgentInfo = {
      id: `agent-${String(i).padStart(5, "0")}`,
      address,
      url: `http://${address}:${5758 + (i % AGENTS_PER_ADDRESS)}`,
      nodeName: `node-${slot}`,
      pool: POOL,
      namespace: NAMESPACE,
      capacity: CAPACITY,
      images,
      healthy: true,
      lastHeartbeat: 0,
    };
    registry.upsertAgent(info);
  }
  return registry;
}

/** A pool at `FILL` with churn: each iteration allocates one sandbox, then releases a random one. */
function churn(agentCount: number, withPort: boolean, options: Options): [Row, Row] {
  const random = lcg(agentCount + (withPort ? 1 : 0));
  const registry = buildRegistry(agentCount, random);
  let next = 0;
  const makeRequest = (): AllocationRequest => ({
    key: `${NAMESPACE}/sb-${next++}`,
    pool: POOL,
    namespace: NAMESPACE,
    image: pick(random, IMAGES),
    ports: withPort ? [FIRST_PORT + Math.floor(random() * PORT_RANGE)] : [],
  });
  const live: string[] = [];
  const target = Math.floor(agentCount * CAPACITY * FILL);
  while (live.length < target) {
    const request = makeRequest();
    try {
      registry.allocate(request);
      live.push(request.key);
    } catch (err) {
      // A drawn port may be taken on every address; draw again.
      if (!isFsbError(err, "RESOURCE_EXHAUSTED")) throw err;
    }
  }

  const total = options.warmup + options.iterations;
  const allocateUs = new Float64Array(options.iterations);
  const releaseUs = new Float64Array(options.iterations);
  for (let i = 0; i < total; i++) {
    const request = makeRequest();
    const victimAt = Math.floor(random() * live.length);
    const t0 = process.hrtime.bigint();
    registry.allocate(request);
    const t1 = process.hrtime.bigint();
    const victim = live[victimAt] as string;
    live[victimAt] = request.key;
    const t2 = process.hrtime.bigint();
    registry.release(victim);
    const t3 = process.hrtime.bigint();
    if (i >= options.warmup) {
      allocateUs[i - options.warmup] = Number(t1 - t0) / NS_PER_US;
      releaseUs[i - options.warmup] = Number(t3 - t2) / NS_PER_US;
    }
  }
  const suffix = withPort ? `, 1 port of ${PORT_RANGE}` : "";
  return [
    summarize(agentCount, `allocate (${FILL * 100}% full${suffix})`, allocateUs),
    summarize(agentCount, `release (${FILL * 100}% full${suffix})`, releaseUs),
  ];
}

/** A full pool: every allocate fails, and explaining why scans the pool once. */
function fullPool(agentCount: number, options: Options): Row {
  const random = lcg(agentCount + 2);
  const registry = buildRegistry(agentCount, random);
  for (let i = 0; i < agentCount * CAPACITY; i++) {
    registry.allocate({
      key: `${NAMESPACE}/fill-${i}`,
      pool: POOL,
      namespace: NAMESPACE,
      image: "alpine",
      ports: [],
    });
  }
  const iterations = Math.max(1, Math.floor(options.iterations / ERROR_PATH_DIVISOR));
  const warmup = Math.floor(options.warmup / ERROR_PATH_DIVISOR);
  const samples = new Float64Array(iterations);
  const request: AllocationRequest = {
    key: `${NAMESPACE}/one-too-many`,
    pool: POOL,
    namespace: NAMESPACE,
    image: "alpine",
    ports: [],
  };
  for (let i = 0; i < warmup + iterations; i++) {
    const t0 = process.hrtime.bigint();
    try {
      registry.allocate(request);
      throw new Error("allocate succeeded on a full pool");
    } catch (err) {
      if (!isFsbError(err, "RESOURCE_EXHAUSTED")) throw err;
    }
    const t1 = process.hrtime.bigint();
    if (i >= warmup) samples[i - warmup] = Number(t1 - t0) / NS_PER_US;
  }
  return summarize(agentCount, "allocate (100% full → error)", samples);
}

function summarize(agents: number, operation: string, samplesUs: Float64Array): Row {
  const sorted = Array.from(samplesUs).sort((a, b) => a - b);
  const sum = sorted.reduce((acc, value) => acc + value, 0);
  const mean = sum / sorted.length;
  return {
    agents,
    operation,
    runs: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean,
    opsPerSecond: US_PER_S / mean,
  };
}

function formatRows(rows: readonly Row[]): string {
  const header = ["agents", "operation", "runs", "p50 µs", "p99 µs", "mean µs", "ops/s"];
  const cells = rows.map((r) => [
    r.agents.toLocaleString("en-US"),
    r.operation,
    String(r.runs),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    r.mean.toFixed(2),
    Math.round(r.opsPerSecond).toLocaleString("en-US"),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? "").length)));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (i === 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ");
  return [line(header), ...cells.map(line)].join("\n");
}

function cpuModel(): string {
  try {
    const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1];
    if (model) return model.trim();
  } catch {
    // Not Linux: fall through to what Node reports.
  }
  return os.cpus()[0]?.model ?? "unknown";
}

function main(): number {
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
  const rows: Row[] = [];
  for (const agents of AGENT_COUNTS) {
    process.stderr.write(`${agents} agents…\n`);
    rows.push(...churn(agents, false, options), ...churn(agents, true, options), fullPool(agents, options));
  }
  const machine = {
    node: process.version,
    cpu: cpuModel(),
    nproc: os.availableParallelism(),
    platform: `${os.platform()} ${os.release()}`,
  };
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ date: new Date().toISOString(), machine, options, rows }, null, 2)}\n`,
    );
    return 0;
  }
  process.stdout.write(
    [
      "AgentRegistry benchmark: one pool, capacity 5, 4 agents per address, 3 of 8 images cached per agent",
      `node:     ${machine.node}`,
      `cpu:      ${machine.cpu}, nproc ${machine.nproc}, ${machine.platform}`,
      `runs:     ${options.iterations} timed after ${options.warmup} warm-up per churn scenario (1/${ERROR_PATH_DIVISOR} of that on the error path)`,
      "churn:    each iteration allocates one sandbox, then releases a random live one, so the fill stays put",
      "ops/s:    1 / mean latency of the operation alone",
      "",
      formatRows(rows),
      "",
    ].join("\n"),
  );
  return 0;
}

process.exit(main());

/** The exec benchmark's results: exec latency against the floor, time to first command, as text or JSON. */
import type { MachineInfo } from "./e2e-report.ts";
import { TARGET_FIRST_COMMAND_P50_MS } from "./exec-first-command.ts";
import type { ExecPathName } from "./exec-paths.ts";
import type { ThroughputSample } from "./files-throughput.ts";
import { formatTable, type LatencySummary, median, ms, summarize } from "./stats.ts";

/** Target: `sandbox.exec` p50 within this multiple of the containerd floor's p50 (issue 14, docs/benchmarks.md). */
export const TARGET_EXEC_OVER_FLOOR = 1.2;
/** Ratios get three decimals, so a result just either side of the target does not print as the target. */
const RATIO_DECIMALS = 3;
const LOAD_DECIMALS = 2;
const EXEC_ORDER: readonly ExecPathName[] = ["sdk", "agent", "floor"];

export interface ExecLatencyResult {
  method: string[];
  summaries: LatencySummary[];
  sdkOverFloor: number;
  agentOverFloor: number;
  /** p95 ratio, for the tail; the target is on p50. */
  sdkOverFloorP95: number;
  targetMet: boolean;
  samplesMs: Record<ExecPathName, number[]>;
}

export interface FirstCommandResult {
  method: string[];
  summaries: LatencySummary[];
  /** The create alone, per path: what is left of each sample is the first exec. */
  createSummaries: LatencySummary[];
  prewarmedP50Met: boolean;
  samplesMs: { prewarmed: number[]; cold: number[] };
  createMs: { prewarmed: number[]; cold: number[] };
}

export interface ExecBenchResult {
  date: string;
  machine: MachineInfo;
  loadAverage: { start: number; end: number };
  setup: string[];
  targets: { execOverFloor: number; firstCommandP50Ms: number };
  exec: ExecLatencyResult;
  firstCommand: FirstCommandResult;
  throughput: ThroughputResult;
}

export interface ThroughputResult {
  method: string[];
  /** Median MB/s per path, with every run's. */
  paths: Array<ThroughputSample & { median: number }>;
  uploadOverCat: number;
  downloadOverCat: number;
}

export function throughputResult(method: string[], samples: ThroughputSample[]): ThroughputResult {
  const paths = samples.map((s) => ({
    ...s,
    median: s.mbPerSecond.length ? median(s.mbPerSecond) : Number.NaN,
  }));
  const of = (name: string) => paths.find((p) => p.path === name)?.median ?? Number.NaN;
  return {
    method,
    paths,
    uploadOverCat: of("upload") / of("cat pipe"),
    downloadOverCat: of("download") / of("cat pipe"),
  };
}

function formatThroughput(t: ThroughputResult): string[] {
  if (t.paths.every((p) => p.mbPerSecond.length === 0))
    return ["throughput: not measured (--transfer-runs 0)"];
  const rows = t.paths.map(
    (p) =>
      `  ${p.path.padEnd(9)} ${p.median.toFixed(0).padStart(6)} MB/s   (runs: ${p.mbPerSecond.map((v) => v.toFixed(0)).join(", ")})`,
  );
  return [
    "throughput: 100 MB (10^8 bytes) through the API, at the client:",
    ...t.method.map((line) => `  ${line}`),
    "",
    "  path        median",
    ...rows,
    "",
    `upload / cat pipe: ${t.uploadOverCat.toFixed(RATIO_DECIMALS)}×, download / cat pipe: ${t.downloadOverCat.toFixed(RATIO_DECIMALS)}×`,
  ];
}

export function execLatencyResult(
  method: string[],
  samplesMs: Record<ExecPathName, number[]>,
): ExecLatencyResult {
  const summaries = EXEC_ORDER.map((name) => summarize(name, samplesMs[name]));
  const get = (name: ExecPathName) => summaries.find((s) => s.path === name) as LatencySummary;
  const sdkOverFloor = get("sdk").p50 / get("floor").p50;
  return {
    method,
    summaries,
    sdkOverFloor,
    agentOverFloor: get("agent").p50 / get("floor").p50,
    sdkOverFloorP95: get("sdk").p95 / get("floor").p95,
    targetMet: sdkOverFloor <= TARGET_EXEC_OVER_FLOOR,
    samplesMs,
  };
}

export function firstCommandResult(
  method: string[],
  samples: {
    samplesMs: { prewarmed: number[]; cold: number[] };
    createMs: { prewarmed: number[]; cold: number[] };
  },
): FirstCommandResult {
  const { samplesMs, createMs } = samples;
  const summaries = [summarize("prewarmed", samplesMs.prewarmed), summarize("cold", samplesMs.cold)];
  return {
    method,
    summaries,
    createSummaries: [
      summarize("prewarmed create", createMs.prewarmed),
      summarize("cold create", createMs.cold),
    ],
    prewarmedP50Met: (summaries[0] as LatencySummary).p50 < TARGET_FIRST_COMMAND_P50_MS,
    samplesMs,
    createMs,
  };
}

function metText(met: boolean): string {
  return met ? "met" : "NOT met";
}

export function formatExecReport(result: ExecBenchResult): string {
  const { machine, exec, firstCommand } = result;
  const p50 = (name: ExecPathName) => exec.summaries.find((s) => s.path === name)?.p50 ?? Number.NaN;
  return [
    "exec benchmark: `echo hi` (argv, no shell) in a running busybox sandbox, image cached",
    `date:       ${result.date}`,
    `machine:    ${machine.cpu}, nproc ${machine.nproc}, Linux ${machine.kernel}, Node ${machine.node}`,
    `containerd: ${machine.containerd}, runc ${machine.runc}`,
    `load:       1-min load average ${result.loadAverage.start.toFixed(LOAD_DECIMALS)} at start, ` +
      `${result.loadAverage.end.toFixed(LOAD_DECIMALS)} at end`,
    ...result.setup,
    "",
    "exec latency, until the exit at the client:",
    ...exec.method.map((line) => `  ${line}`),
    "",
    formatTable(exec.summaries),
    "",
    `sdk p50 / floor p50:   ${exec.sdkOverFloor.toFixed(RATIO_DECIMALS)}× ` +
      `(target ≤ ${TARGET_EXEC_OVER_FLOOR.toFixed(2)}×: ${metText(exec.targetMet)})`,
    `agent p50 / floor p50: ${exec.agentOverFloor.toFixed(RATIO_DECIMALS)}×`,
    `sdk p95 / floor p95:   ${exec.sdkOverFloorP95.toFixed(RATIO_DECIMALS)}×`,
    `p50 shares: agent over floor ${ms(p50("agent") - p50("floor"))} ms, ` +
      `controller hop (sdk over agent) ${ms(p50("sdk") - p50("agent"))} ms`,
    "",
    "time to first command: create + `echo hi` + output read, at the client:",
    ...firstCommand.method.map((line) => `  ${line}`),
    "",
    formatTable(firstCommand.summaries),
    "of which the create, until it answered (the rest is the first exec):",
    formatTable(firstCommand.createSummaries),
    "",
    `prewarmed p50 ${ms(firstCommand.summaries[0]?.p50 ?? Number.NaN)} ms, ` +
      `target < ${result.targets.firstCommandP50Ms} ms: ${metText(firstCommand.prewarmedP50Met)}`,
    "",
    ...formatThroughput(result.throughput),
  ].join("\n");
}

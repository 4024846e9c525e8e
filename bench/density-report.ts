/** The density benchmark's result and its text report, with each target judged from the run's own numbers. */
import os from "node:os";
import type { Leftovers } from "./bench-system.ts";
import type { FloorSamples } from "./density-floor.ts";
import { mib } from "./process-memory.ts";
import { formatTable, type LatencySummary, ms } from "./stats.ts";

/** Create p50 at the last hundred may be at most this many times the p50 at the first hundred. */
export const TARGET_LAST_OVER_FIRST = 1.5;
/** Our memory (agents, shims, controller, containerd) per running sandbox, at most. */
export const TARGET_OVERHEAD_BYTES = 1024 * 1024;
/** The processes whose growth is our overhead; the janitor's is shown but does not grow with sandboxes. */
const OVERHEAD_GROUPS = ["controller", "agents", "shims", "containerd"] as const;

interface CpuReading {
  byGroup: Record<string, number>;
  machine: number;
}

interface MemoryReading {
  rss: Record<string, number>;
  available: number;
  pids: Record<string, number[]>;
}

export interface DensityResult {
  date: string;
  options: { sandboxes: number; agents: number; capacity: number; concurrency: number };
  fillMs: number;
  /** CPU seconds by process group and for the machine, before and after the fill. */
  fillCpu: { before: CpuReading; after: CpuReading };
  failures: string[];
  running: number;
  buckets: Array<LatencySummary & { from: number; to: number }>;
  floor: { before: FloorSamples; after: FloorSamples };
  list: LatencySummary;
  health: { sightings: string[]; lostLines: string[] };
  memory: { before: MemoryReading; full: MemoryReading; after: MemoryReading };
  delete: {
    answeredMs: number;
    goneMs: number;
    leftovers: Leftovers;
    cpu: { before: CpuReading; after: CpuReading };
  };
}

function verdict(ok: boolean): string {
  return ok ? "met" : "NOT met";
}

export function formatDensityReport(r: DensityResult): string {
  const { options: o } = r;
  const first = r.buckets[0];
  const last = r.buckets.at(-1);
  const ratio = first && last ? last.p50 / first.p50 : Number.NaN;
  const floorRatio = r.floor.after.summary.p50 / r.floor.before.summary.p50;
  const perSandbox = (bytes: number) => (r.running > 0 ? bytes / r.running : Number.NaN);
  const grew = (group: string) => (r.memory.full.rss[group] ?? 0) - (r.memory.before.rss[group] ?? 0);
  const overhead = OVERHEAD_GROUPS.reduce((sum, g) => sum + grew(g), 0);
  const availableDrop = r.memory.before.available - r.memory.full.available;
  const leftovers = Object.entries(r.delete.leftovers);
  const leaked = leftovers.filter(([, n]) => n !== 0);
  const healthy = r.health.sightings.length === 0 && r.health.lostLines.length === 0;
  const memoryRows = [...OVERHEAD_GROUPS, "janitor"].map((g) => {
    const count = r.memory.full.pids[g]?.length ?? 0;
    return `  ${g.padEnd(11)} ${String(count).padStart(3)} proc  ${mib(r.memory.before.rss[g] ?? 0).padStart(8)} → ${mib(
      r.memory.full.rss[g] ?? 0,
    ).padStart(8)} MiB  (${(perSandbox(grew(g)) / 1024).toFixed(1)} KiB per sandbox)`;
  });
  return [
    "Fast Sandbox density benchmark: busybox `sleep 3600`, image cached, fast mode",
    `date:        ${r.date}`,
    `machine:     ${os.cpus()[0]?.model ?? "?"}, nproc ${os.availableParallelism()}, ${Math.round(os.totalmem() / 2 ** 20)} MiB, Linux ${os.release()}, Node ${process.version}`,
    `system:      private containerd, fsb-controller, ${o.agents} local agents × ${o.capacity} slots, janitor; controller defaults (probe 2s, loss 15s)`,
    `load:        ${o.sandboxes} creates at concurrency ${o.concurrency}; filled in ${(r.fillMs / 1000).toFixed(1)} s`,
    "",
    `result:      ${r.running} running, ${r.failures.length} failed (target 0: ${verdict(r.failures.length === 0)})`,
    ...r.failures.slice(0, 10).map((f) => `  ${f}`),
    `agent health: ${healthy ? "never unhealthy, nothing lost" : `${r.health.sightings.length} unhealthy sightings, ${r.health.lostLines.length} lost lines`} (target: never: ${verdict(healthy)})`,
    ...[...r.health.sightings, ...r.health.lostLines].slice(0, 10).map((s) => `  ${s}`),
    "",
    "create latency by sandboxes already running:",
    formatTable(r.buckets.map((b) => ({ ...b, path: `${b.from}–${b.to}` }))),
    `CPU ms per create during the fill: ${cpuText(r.fillCpu, r.running, r.fillMs)}`,
    `p50 ${last?.from}–${last?.to} / p50 0–${first?.to}: ${ratio.toFixed(2)}× (target ≤ ${TARGET_LAST_OVER_FIRST}×: ${verdict(ratio <= TARGET_LAST_OVER_FIRST)})`,
    "",
    "containerd floor (bare create+start, its own namespace and anchored shim, same containerd):",
    formatTable([r.floor.before.summary, r.floor.after.summary]),
    `floor p50 at ${r.running} / at 0: ${floorRatio.toFixed(2)}×`,
    "",
    `ListSandboxes of all ${r.running} (gRPC): p50 ${ms(r.list.p50)} ms, p95 ${ms(r.list.p95)} ms over ${r.list.runs} calls`,
    "",
    `memory at 0 → ${r.running} sandboxes (RSS):`,
    ...memoryRows,
    `  our overhead: ${mib(overhead)} MiB = ${(perSandbox(overhead) / 1024).toFixed(1)} KiB per sandbox (target ≤ ${TARGET_OVERHEAD_BYTES / 1024} KiB: ${verdict(perSandbox(overhead) <= TARGET_OVERHEAD_BYTES)})`,
    `  MemAvailable dropped ${mib(availableDrop)} MiB = ${(perSandbox(availableDrop) / 1024).toFixed(1)} KiB per sandbox (everything: the sandboxes' own processes, kernel cgroups, mounts and page cache too)`,
    "",
    `delete of all ${o.sandboxes}: every call answered after ${(r.delete.answeredMs / 1000).toFixed(1)} s, everything gone after ${(r.delete.goneMs / 1000).toFixed(1)} s`,
    `CPU ms per delete until everything was gone: ${cpuText(r.delete.cpu, o.sandboxes, r.delete.goneMs)}`,
    `leftovers: ${leftovers.map(([k, n]) => `${k} ${n}`).join(", ")} (target all 0: ${verdict(leaked.length === 0)})`,
  ].join("\n");
}

/** Where a phase's CPU went, per sandbox: each process group, and the machine as a whole. */
function cpuText(cpu: { before: CpuReading; after: CpuReading }, count: number, elapsedMs: number): string {
  const per = (seconds: number) => ((seconds * 1000) / Math.max(1, count)).toFixed(1);
  const { before, after } = cpu;
  const groups = Object.keys(after.byGroup).map(
    (g) => `${g} ${per((after.byGroup[g] ?? 0) - (before.byGroup[g] ?? 0))}`,
  );
  const available = (elapsedMs / 1000) * os.availableParallelism();
  return `${groups.join(", ")}; whole machine ${per(after.machine - before.machine)} (of ${per(available)} available)`;
}

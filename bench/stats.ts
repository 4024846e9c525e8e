/** Latency summaries for benchmarks: nearest-rank percentiles, mean, and a fixed-width table. */

/** The percentiles every summary reports. */
const P50 = 50;
const P95 = 95;
const P99 = 99;
/** Milliseconds are printed with one decimal. */
const DECIMALS = 1;

/** One path's samples reduced to the numbers the report prints (all in milliseconds). */
export interface LatencySummary {
  path: string;
  runs: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
}

/**
 * The nearest-rank percentile: the smallest sample with at least `p` percent of samples at or
 * below it. With 50 samples, p99 is the largest one.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error("percentile of no samples");
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/** Summarises one path's samples. */
export function summarize(path: string, samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    path,
    runs: sorted.length,
    p50: percentile(sorted, P50),
    p95: percentile(sorted, P95),
    p99: percentile(sorted, P99),
    mean: total / sorted.length,
  };
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Formats milliseconds with one decimal. */
export function ms(value: number): string {
  return value.toFixed(DECIMALS);
}

/** A right-aligned table of summaries, one row per path, with a header row. */
export function formatTable(rows: readonly LatencySummary[]): string {
  const header = ["path", "runs", "p50 ms", "p95 ms", "p99 ms", "mean ms"];
  const cells = rows.map((r) => [r.path, String(r.runs), ms(r.p50), ms(r.p95), ms(r.p99), ms(r.mean)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? "").length)));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ");
  return [line(header), ...cells.map(line)].join("\n");
}

/**
 * The idle-agent case of the end-to-end benchmark: a create after the whole system sat idle, with
 * no sandbox on any agent, as the first create of a quiet afternoon finds it. Anything that goes
 * cold while idle (a shim that exits with its last container, a kept-alive connection that times
 * out, caches) shows here; the floor is timed after the same idle time.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { E2ePath } from "./e2e-paths.ts";
import { type LatencySummary, summarize } from "./stats.ts";

/** Longer than an HTTP client's keep-alive (undici closes idle connections after 4 s). */
export const IDLE_MS = 5000;
/** Each sample costs two idle periods, so fewer runs than the sequential part. */
export const IDLE_RUNS = 12;

export interface IdleResult {
  idleMs: number;
  fast: LatencySummary;
  floor: LatencySummary;
  fastOverFloor: number;
}

/** `runs` times: wait idle, time one fast create, remove it; wait idle, time one floor create, remove it. */
export async function measureIdle(
  fast: E2ePath,
  floor: E2ePath,
  runs: number,
  signal: AbortSignal,
  say: (message: string) => void,
): Promise<IdleResult> {
  const samples = { fast: [] as number[], floor: [] as number[] };
  for (let i = 0; i < runs; i++) {
    for (const path of [fast, floor] as const) {
      await sleep(IDLE_MS, undefined, { signal });
      const id = `e2e-idle-${path.name}-${i}`;
      const sample = await path.create(id, 0);
      await path.remove([id]);
      samples[path.name === "floor" ? "floor" : "fast"].push(sample.ms);
    }
    say(`idle agent: ${i + 1}/${runs}`);
  }
  const summaries = { fast: summarize("fast", samples.fast), floor: summarize("floor", samples.floor) };
  return { idleMs: IDLE_MS, ...summaries, fastOverFloor: summaries.fast.p50 / summaries.floor.p50 };
}

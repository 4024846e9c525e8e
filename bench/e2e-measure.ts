/** The end-to-end benchmark's loops: sequential creates (concurrency 1) and bursts of creates in flight at once. */
import { setTimeout as sleep } from "node:timers/promises";
import type { CreateSample, E2ePath, PathName } from "./e2e-paths.ts";

/** A progress line is printed every this many sequential iterations. */
const PROGRESS_EVERY = 10;

/** One path's timed creates at one concurrency. */
export interface PathSamples {
  /** Each create's own latency at the client, in milliseconds, in the order they were taken. */
  ms: number[];
  /** How many timed creates ran on each agent (or floor shim group). */
  placements: Record<string, number>;
  /** The server-reported latency of each create, same order as `ms` (API paths only; JSON output). */
  serverMs: number[];
}

export type SamplesByPath = Record<PathName, PathSamples>;

export interface SequentialOptions {
  runs: number;
  warmup: number;
  /** Idle time after each removal, so the next create does not share the CPUs with its teardown. */
  settleMs: number;
}

export interface ConcurrentOptions {
  /** Creates in flight at once, per burst. */
  concurrency: number;
  rounds: number;
  warmupRounds: number;
  /** The burst's creates are spread over this many floor shim groups, as the controller spreads them over its agents. */
  lanes: number;
  /** Idle time after each burst's removal (the kernel tears down cgroups and mounts after the deletes return). */
  settleMs: number;
}

function emptySamples(): SamplesByPath {
  const empty = (): PathSamples => ({ ms: [], placements: {}, serverMs: [] });
  return { fast: empty(), strong: empty(), floor: empty() };
}

function record(samples: PathSamples, sample: CreateSample): void {
  samples.ms.push(sample.ms);
  samples.placements[sample.placedOn] = (samples.placements[sample.placedOn] ?? 0) + 1;
  if (sample.serverMs !== undefined) samples.serverMs.push(sample.serverMs);
}

/** Every ordering of `items`, in a fixed order. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/**
 * Iteration i runs the paths in the i-th of all their orderings, cyclically. Over a full cycle every
 * path goes first, second and last equally often and follows each other path equally often, so
 * the leftovers of one path's teardown do not always land on the same other path.
 */
function orderings(paths: readonly E2ePath[]): (iteration: number) => E2ePath[] {
  const all = permutations(paths);
  return (iteration) => all[iteration % all.length] ?? [...paths];
}

/**
 * One create at a time: per iteration each path creates once, then removes it (untimed, waiting
 * until it is gone), so no sandbox of the bench keeps running between creates (only the floor's anchors).
 */
export async function measureSequential(
  paths: readonly E2ePath[],
  options: SequentialOptions,
  signal: AbortSignal,
  say: (message: string) => void,
): Promise<SamplesByPath> {
  const samples = emptySamples();
  const order = orderings(paths);
  const total = options.warmup + options.runs;
  for (let i = 0; i < total; i++) {
    const warm = i < options.warmup;
    for (const benchPath of order(warm ? i : i - options.warmup)) {
      signal.throwIfAborted();
      const id = `e2e-${benchPath.name}-c1-${warm ? `w${i}` : i - options.warmup}`;
      const sample = await benchPath.create(id, 0);
      await benchPath.remove([id]);
      await sleep(options.settleMs);
      if (!warm) record(samples[benchPath.name], sample);
    }
    const done = i + 1 - options.warmup;
    if (done === 0) say(`concurrency 1: ${options.warmup} warm-up iteration(s) done`);
    else if (done > 0 && (done % PROGRESS_EVERY === 0 || done === options.runs)) {
      say(`concurrency 1: ${done}/${options.runs} timed iterations`);
    }
  }
  return samples;
}

/**
 * Bursts: per round each path starts `concurrency` creates in the same tick and times each one on
 * its own; once all have settled they are removed together (untimed) before the next path's burst.
 */
export async function measureConcurrent(
  paths: readonly E2ePath[],
  options: ConcurrentOptions,
  signal: AbortSignal,
  say: (message: string) => void,
): Promise<SamplesByPath> {
  const samples = emptySamples();
  const order = orderings(paths);
  const total = options.warmupRounds + options.rounds;
  const label = `concurrency ${options.concurrency}`;
  for (let round = 0; round < total; round++) {
    const warm = round < options.warmupRounds;
    const tag = warm ? `w${round}` : String(round - options.warmupRounds);
    // Warm-up rounds do not count towards the ordering cycle, so the timed rounds complete whole cycles.
    for (const benchPath of order(warm ? round : round - options.warmupRounds)) {
      signal.throwIfAborted();
      const ids = Array.from(
        { length: options.concurrency },
        (_, k) => `e2e-${benchPath.name}-c${options.concurrency}-${tag}-${k}`,
      );
      // allSettled: on a failure no create is still in flight when the clean-up lists what to remove.
      const results = await Promise.allSettled(ids.map((id, k) => benchPath.create(id, k % options.lanes)));
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
      await benchPath.remove(ids);
      await sleep(options.settleMs);
      if (warm) continue;
      for (const r of results) {
        if (r.status === "fulfilled") record(samples[benchPath.name], r.value);
      }
    }
    const done = warm
      ? `warm-up round ${round + 1}`
      : `round ${round + 1 - options.warmupRounds}/${options.rounds}`;
    say(`${label}: ${done} done`);
  }
  return samples;
}

/**
 * Time to first command: create a sandbox and run `echo hi` in it, timed at the client until the
 * output is read, once served from a prewarmed container and once created cold, interleaved.
 */
import type { Client } from "@connectrpc/connect";
import type { FastSandbox } from "@fast-sandbox/sdk";
import type { SandboxPoolService } from "../packages/api/gen/fastsandbox/v1/pool_pb.ts";
import { TEST_IMAGE } from "../test/harness/constants.ts";
import { ECHO_ARGV } from "./exec-paths.ts";

/** Target: a prewarmed create plus the first command, p50, at the client (docs/benchmarks.md). */
export const TARGET_FIRST_COMMAND_P50_MS = 30;
/** The pool's prewarm template runs this; a create must match it to be served prewarmed. */
const PREWARM_COMMAND = ["sleep", "3601"];
/** The cold create's command: any other spec misses the template and is created from nothing. */
const COLD_COMMAND = ["sleep", "3602"];
/** Prewarmed containers per agent: more than one, so a take never waits for the refill of the last. */
const PREWARM_COUNT = 2;
const POOL = "default-pool";
/** Agents refill in ~60 ms; a pool that is not full again after this is broken. */
const REFILL_TIMEOUT_MS = 30_000;
const POLL_MS = 20;
/** Bound on each timed call; a create and an echo take milliseconds, so this only catches hangs. */
const CALL_TIMEOUT_MS = 30_000;

export type FirstCommandPath = "prewarmed" | "cold";

export interface FirstCommandSamples {
  /** Create + echo + output, per run. */
  samplesMs: Record<FirstCommandPath, number[]>;
  /** The create alone (until it answered), per run: the rest of each sample is the first exec. */
  createMs: Record<FirstCommandPath, number[]>;
}

export interface FirstCommandDeps {
  fsb: FastSandbox;
  pools: Client<typeof SandboxPoolService>;
  /** Prewarmed takes the agent has counted so far (its fsb_agent_prewarm_takes_total). */
  prewarmTakes: () => Promise<number>;
  /** Prewarmed containers the agent holds ready now (its status; the pool's view lags by a probe). */
  prewarmReady: () => Promise<number>;
}

/**
 * Adds a prewarm template to the pool, waits until it is full, then per iteration times a prewarmed
 * and a cold create + `echo hi` (order alternating). Between runs the sandbox is deleted and the
 * pool refilled, untimed, so every prewarmed create finds a container ready and no timed run
 * overlaps a refill. Fails unless the agent counted exactly one prewarmed take per prewarmed run.
 * The template is removed at the end.
 */
export async function measureFirstCommand(
  deps: FirstCommandDeps,
  runs: number,
  signal: AbortSignal,
  say: (message: string) => void,
): Promise<FirstCommandSamples> {
  const { pools } = deps;
  const current = await pools.getPool({ name: POOL, namespace: deps.fsb.namespace });
  const { $typeName: _tag, ...spec } = current.spec ?? { prewarm: [] };
  const template = { image: TEST_IMAGE, command: PREWARM_COMMAND, args: [], env: [], count: PREWARM_COUNT };
  await pools.applyPool({
    name: POOL,
    namespace: deps.fsb.namespace,
    spec: { ...spec, prewarm: [template] },
  });
  const samplesMs: Record<FirstCommandPath, number[]> = { prewarmed: [], cold: [] };
  const createMs: Record<FirstCommandPath, number[]> = { prewarmed: [], cold: [] };
  try {
    await waitFull(deps, signal);
    const takesBefore = await deps.prewarmTakes();
    for (let i = 0; i < runs; i++) {
      const order: FirstCommandPath[] = i % 2 === 0 ? ["prewarmed", "cold"] : ["cold", "prewarmed"];
      for (const path of order) {
        signal.throwIfAborted();
        const sample = await createAndEcho(deps, `ttfc-${path}-${i}`, path, signal);
        samplesMs[path].push(sample.ms);
        createMs[path].push(sample.createMs);
      }
    }
    const takes = (await deps.prewarmTakes()) - takesBefore;
    if (takes !== runs)
      throw new Error(`${runs} prewarmed runs but the agent counted ${takes} prewarmed takes`);
    say(`time to first command: ${runs} runs per path`);
  } finally {
    await pools.applyPool({ name: POOL, namespace: deps.fsb.namespace, spec: { ...spec, prewarm: [] } });
  }
  return { samplesMs, createMs };
}

/** The timed part (create, echo, output at the client), then the untimed delete and refill. */
async function createAndEcho(
  deps: FirstCommandDeps,
  name: string,
  path: FirstCommandPath,
  signal: AbortSignal,
): Promise<{ ms: number; createMs: number }> {
  const command = path === "prewarmed" ? PREWARM_COMMAND : COLD_COMMAND;
  const started = performance.now();
  const box = await deps.fsb.sandboxes.create({
    name,
    image: TEST_IMAGE,
    command,
    timeoutMs: CALL_TIMEOUT_MS,
  });
  const createMs = performance.now() - started;
  const r = await box.exec(ECHO_ARGV, { timeoutMs: CALL_TIMEOUT_MS });
  const ms = performance.now() - started;
  if (r.stdout !== "hi\n" || r.exitCode !== 0) {
    throw new Error(`${path}: echo hi gave exit ${r.exitCode}, stdout ${JSON.stringify(r.stdout)}`);
  }
  await box.delete({ gracePeriodSeconds: 0 });
  await waitGone(deps.fsb, name, signal);
  await waitFull(deps, signal);
  return { ms, createMs };
}

async function waitFull(deps: FirstCommandDeps, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + REFILL_TIMEOUT_MS;
  for (;;) {
    if ((await deps.prewarmReady()) >= PREWARM_COUNT) return;
    if (Date.now() > deadline) throw new Error(`prewarm not refilled after ${REFILL_TIMEOUT_MS} ms`);
    signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function waitGone(fsb: FastSandbox, name: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + REFILL_TIMEOUT_MS;
  for (;;) {
    const sandboxes = await fsb.sandboxes.list();
    if (!sandboxes.some((s) => s.name === name)) return;
    if (Date.now() > deadline) throw new Error(`sandbox ${name} not gone after ${REFILL_TIMEOUT_MS} ms`);
    signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

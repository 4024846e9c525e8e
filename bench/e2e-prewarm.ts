/** The prewarmed path of the end-to-end benchmark: creates that match the pool's prewarm template, timed at the client. */
import type { Client } from "@connectrpc/connect";
import { ConsistencyMode, type FastPathService } from "../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import type { SandboxPoolService } from "../packages/api/gen/fastsandbox/v1/pool_pb.ts";
import { TEST_IMAGE } from "../test/harness/constants.ts";
import { COMMAND, SANDBOX_NAMESPACE } from "./e2e-paths.ts";

/** Target: a create from a prewarmed container takes at most this long at p50, timed at the client. */
export const TARGET_PREWARMED_P50_MS = 20;
/** Prewarmed containers per agent: more than one, so a take never waits for the refill of the last. */
const PREWARM_COUNT = 2;
const POOL = "default-pool";
/** Agents refill in ~60 ms; a pool that is not full again after this is broken. */
const REFILL_TIMEOUT_MS = 30_000;
const POLL_MS = 20;

export interface PrewarmedSamples {
  samplesMs: number[];
  /** Creates that the server placed on an agent holding a ready prewarmed container (all, when healthy). */
  placements: Record<string, number>;
}

type Clients = { fastPath: Client<typeof FastPathService>; pools: Client<typeof SandboxPoolService> };

/**
 * Adds a prewarm template matching the benchmark's sandbox to the pool, waits until every agent
 * holds its containers, then times `runs` fast creates one at a time. Between runs the sandbox is
 * deleted and the pool refilled (untimed), so every create finds a prewarmed container ready. The
 * template is removed at the end, so the agents delete their prewarmed containers.
 */
export async function measurePrewarmed(
  clients: Clients,
  runs: number,
  signal: AbortSignal,
  say: (message: string) => void,
): Promise<PrewarmedSamples> {
  const { fastPath, pools } = clients;
  const current = await pools.getPool({ name: POOL, namespace: SANDBOX_NAMESPACE });
  // The pool's own spec, minus the message's type tag, so it can be sent back with a prewarm list.
  const { $typeName: _tag, ...spec } = current.spec ?? { prewarm: [] };
  const template = { image: TEST_IMAGE, command: COMMAND, args: [], env: [], count: PREWARM_COUNT };
  await pools.applyPool({ name: POOL, namespace: SANDBOX_NAMESPACE, spec: { ...spec, prewarm: [template] } });
  const samplesMs: number[] = [];
  const placements: Record<string, number> = {};
  try {
    await waitFull(pools, current.agents.length, signal);
    say(`prewarmed: ${PREWARM_COUNT} containers ready on each of ${current.agents.length} agents`);
    for (let i = 0; i < runs; i++) {
      signal.throwIfAborted();
      const name = `pw-bench-${i}`;
      const started = performance.now();
      const res = await fastPath.createSandbox({
        name,
        namespace: SANDBOX_NAMESPACE,
        image: TEST_IMAGE,
        command: COMMAND,
        consistencyMode: ConsistencyMode.FAST,
      });
      samplesMs.push(performance.now() - started);
      const agent = res.sandbox?.agent ?? "";
      placements[agent] = (placements[agent] ?? 0) + 1;
      await fastPath.deleteSandbox({ name, namespace: SANDBOX_NAMESPACE, gracePeriodSeconds: 0 });
      await waitGone(fastPath, name, signal);
      await waitFull(pools, current.agents.length, signal);
    }
  } finally {
    await pools.applyPool({ name: POOL, namespace: SANDBOX_NAMESPACE, spec: { ...spec, prewarm: [] } });
  }
  return { samplesMs, placements };
}

async function waitFull(pools: Clients["pools"], agents: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + REFILL_TIMEOUT_MS;
  for (;;) {
    const pool = await pools.getPool({ name: POOL, namespace: SANDBOX_NAMESPACE });
    const full = pool.agents.filter((a) => a.prewarmReady >= PREWARM_COUNT).length;
    if (full >= agents) return;
    if (Date.now() > deadline) throw new Error(`prewarm not refilled: ${full} of ${agents} agents full`);
    signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function waitGone(client: Clients["fastPath"], name: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + REFILL_TIMEOUT_MS;
  for (;;) {
    const { sandboxes } = await client.listSandboxes({ namespace: SANDBOX_NAMESPACE });
    if (!sandboxes.some((s) => s.name === name)) return;
    if (Date.now() > deadline) throw new Error(`sandbox ${name} not gone`);
    signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Benchmark: what an isolated network costs a create, and what each isolated sandbox costs to hold.
 * fsb-agents on one private containerd, one per `--network-mode` (isolated, none, agent: the seed's
 * shared namespace, which the target compares with), take turns creating and starting busybox
 * `sleep 3600`, each create followed by its untimed delete, so all see the same load. Then, unless
 * `--hold 0`, one isolated and one agent-mode agent each hold `--hold` sandboxes at once: the node's
 * memory (MemAvailable) and the agent's RSS per sandbox, and the difference, which is the network's.
 *
 *   node bench/network.ts [--runs N] [--warmup N] [--hold N]
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { PrivateContainerd } from "../packages/server/src/standalone/private-containerd.ts";
import { type AgentProcess, removeLogDir, startAgentProcess } from "../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_IMAGE_BASE, TEST_IMAGE_TAR } from "../test/harness/constants.ts";
import { agentPath, BENCH_NAMESPACE, COMMAND, callAgent, measureInterleaved } from "./agent-paths.ts";
import { formatTable, ms, summarize } from "./stats.ts";

const root = path.resolve(import.meta.dirname, "..");
/** Its own containerd, apart from the other benchmarks', so none can disturb another. */
const CONTAINERD_DIR = path.join(root, ".fsb-dev/bench-network-containerd");
const MODES = ["isolated", "none", "agent"] as const;
/** The one the target is set against: today's create, in the agent's namespace. */
const BASELINE = "agent";
/** The isolated create must stay within this of the baseline's p50 (issue 15). */
const TARGET_RATIO = 1.1;
/** Enough for a /24 subnet (253 addresses, less the prepared ones). */
const MAX_HOLD = 240;

function say(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function options(): { runs: number; warmup: number; hold: number } {
  const { values } = parseArgs({
    options: { runs: { type: "string" }, warmup: { type: "string" }, hold: { type: "string" } },
  });
  const whole = (raw: string | undefined, fallback: number) => (raw === undefined ? fallback : Number(raw));
  const runs = whole(values.runs, 30);
  const warmup = whole(values.warmup, 3);
  const hold = whole(values.hold, 50);
  if (
    ![runs, warmup, hold].every(Number.isInteger) ||
    runs < 1 ||
    warmup < 0 ||
    hold < 0 ||
    hold > MAX_HOLD
  ) {
    throw new Error(`--runs must be ≥ 1, --warmup ≥ 0 and --hold 0–${MAX_HOLD}, all whole numbers`);
  }
  return { runs, warmup, hold };
}

function memAvailableKiB(): number {
  return Number(/MemAvailable:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1]);
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
}

/** Holds `count` sandboxes on one agent: the node's memory and the agent's RSS per sandbox, in KiB. */
async function hold(agent: AgentProcess, count: number): Promise<{ node: number; agent: number }> {
  const ids = Array.from({ length: count }, (_, i) => `fsb-bench-hold-${i}`);
  const before = { node: memAvailableKiB(), agent: rssKiB(agent.pid) };
  for (const id of ids) {
    const body = { sandbox: { sandboxId: id, name: id, image: TEST_IMAGE, command: COMMAND } };
    await callAgent(agent, "POST", "/api/v1/agent/create", JSON.stringify(body));
  }
  // Let page cache and lazily freed memory settle before reading.
  await new Promise((r) => setTimeout(r, 2000));
  const after = { node: memAvailableKiB(), agent: rssKiB(agent.pid) };
  for (const id of ids) {
    const body = { sandboxId: id, gracePeriodSeconds: 0 };
    await callAgent(agent, "POST", "/api/v1/agent/delete", JSON.stringify(body));
  }
  return { node: (before.node - after.node) / count, agent: (after.agent - before.agent) / count };
}

async function main(): Promise<void> {
  const { runs, warmup, hold: holdCount } = options();
  const containerd = new PrivateContainerd({ dir: CONTAINERD_DIR });
  const agents: AgentProcess[] = [];
  try {
    await containerd.start();
    await containerd.importImage(path.join(root, TEST_IMAGE_TAR), TEST_IMAGE_BASE, BENCH_NAMESPACE);
    for (const mode of MODES) {
      agents.push(
        await startAgentProcess({
          socketPath: containerd.socketPath,
          namespace: BENCH_NAMESPACE,
          agentId: `bench-network-${mode}`,
          capacity: Math.max(5, holdCount),
          extraArgs: ["--network-mode", mode],
        }),
      );
    }
    say(`${warmup} warm-up and ${runs} timed creates per mode, interleaved`);
    const samples = await measureInterleaved(agents.map(agentPath), runs, warmup);
    const summaries = MODES.map((mode, i) => summarize(`--network-mode ${mode}`, samples[i] ?? []));
    const base = summaries[MODES.indexOf(BASELINE)]?.p50 ?? Number.NaN;
    const lines = [
      `create+start through fsb-agent, busybox sleep 3600, ${runs} runs each after ${warmup} warm-up`,
      formatTable(summaries),
      ...summaries.map(
        (s) => `p50 over mode ${BASELINE}: ${(s.p50 / base).toFixed(3)}× (${ms(s.p50 - base)} ms) ${s.path}`,
      ),
      `target: isolated ≤ ${TARGET_RATIO}× ${BASELINE}: ${(summaries[0]?.p50 ?? Number.NaN) / base <= TARGET_RATIO ? "met" : "missed"}`,
    ];
    if (holdCount > 0) {
      say(`holding ${holdCount} sandboxes on the isolated agent, then on the agent-mode one`);
      const isolated = await hold(agents[0]!, holdCount);
      const shared = await hold(agents[2]!, holdCount);
      const kib = (n: number) => `${Math.round(n)} KiB`;
      lines.push(
        `${holdCount} sandboxes held at once per agent (the subnet's /24 holds up to 253 isolated ones; --sandbox-subnet-bits 20 holds 4093)`,
        `  node memory per sandbox: isolated ${kib(isolated.node)}, agent mode ${kib(shared.node)}, the network's share ${kib(isolated.node - shared.node)}`,
        `  agent RSS per sandbox:   isolated ${kib(isolated.agent)}, agent mode ${kib(shared.agent)}`,
      );
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    for (const agent of agents) {
      await agent.stop();
      await removeLogDir(agent.logDir);
    }
    await containerd.stop();
  }
}

await main();
// The agents' keep-alive connections would hold the loop open.
process.exit(0);

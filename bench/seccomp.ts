/**
 * Benchmark: what a seccomp profile adds to a create. fsb-agents on one private containerd, one per
 * `--seccomp` setting (runtime-default, unconfined, and any `--profile PATH` given), and with
 * `--gvisor` one with `--runtime gvisor` (the other isolation level), take turns creating and
 * starting busybox `sleep 3600`, each create followed by its untimed delete. Also prints the
 * in-process cost of building the spec and the bytes the profile adds to it.
 *
 *   node bench/seccomp.ts [--runs N] [--warmup N] [--profile PATH]... [--gvisor]
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseCreateRequest } from "../packages/server/src/agent/agent-requests.ts";
import { buildSandboxOciSpec, type SpecContext } from "../packages/server/src/agent/build-oci-spec.ts";
import {
  loadSeccompSetting,
  type SeccompSetting,
  seccompChoice,
} from "../packages/server/src/agent/seccomp-setting.ts";
import { specToAny } from "../packages/server/src/containerd/spec-any.ts";
import { PrivateContainerd } from "../packages/server/src/standalone/private-containerd.ts";
import { type AgentProcess, removeLogDir, startAgentProcess } from "../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_IMAGE_BASE, TEST_IMAGE_TAR } from "../test/harness/constants.ts";
import { agentPath, BENCH_NAMESPACE, COMMAND, measureInterleaved } from "./agent-paths.ts";
import { formatTable, ms, summarize } from "./stats.ts";

const root = path.resolve(import.meta.dirname, "..");
/** Its own containerd, apart from bench/agent.ts's, so the two can never disturb each other. */
const CONTAINERD_DIR = path.join(root, ".fsb-dev/bench-seccomp-containerd");
const DEFAULT_RUNS = 20;
const DEFAULT_WARMUP = 3;
/** Spec builds timed in-process per setting: enough to average out timer resolution. */
const SPEC_BUILDS = 2000;

function say(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** One agent of the comparison: its label and the flags it gets. */
interface Setting {
  label: string;
  /** The `--seccomp` value, for the spec cost; undefined for gVisor (its specs carry no filter). */
  seccomp: string | undefined;
  args: string[];
}

/** The run's sizes, and the agents to compare (the second, unconfined, is what the ratios are over). */
function options(): { runs: number; warmup: number; settings: Setting[] } {
  const { values } = parseArgs({
    options: {
      runs: { type: "string" },
      warmup: { type: "string" },
      profile: { type: "string", multiple: true },
      gvisor: { type: "boolean" },
    },
  });
  const whole = (raw: string | undefined, fallback: number) => (raw === undefined ? fallback : Number(raw));
  const runs = whole(values.runs, DEFAULT_RUNS);
  const warmup = whole(values.warmup, DEFAULT_WARMUP);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
    throw new Error("--runs must be a whole number ≥ 1 and --warmup ≥ 0");
  }
  const seccomp = ["runtime-default", "unconfined", ...(values.profile ?? []).map((p) => path.resolve(p))];
  const settings: Setting[] = seccomp.map((s) => ({
    label: `--seccomp ${s}`,
    seccomp: s,
    args: ["--seccomp", s],
  }));
  if (values.gvisor)
    settings.push({ label: "--runtime gvisor", seccomp: undefined, args: ["--runtime", "gvisor"] });
  return { runs, warmup, settings };
}

/** Mean microseconds of building one sandbox's spec, and the size of the JSON containerd stores. */
function specCost(seccomp: SeccompSetting): { micros: number; bytes: number } {
  const context: SpecContext = {
    agentId: "bench",
    runtime: "container",
    network: { kind: "host" },
    seccomp,
    agentPid: process.pid,
  };
  const request = parseCreateRequest({
    sandbox: { sandboxId: "s1", name: "s1", image: TEST_IMAGE, command: COMMAND },
  });
  const started = performance.now();
  let bytes = 0;
  for (let i = 0; i < SPEC_BUILDS; i++) {
    bytes = specToAny(buildSandboxOciSpec(request, {}, context)).value.length;
  }
  return { micros: ((performance.now() - started) * 1000) / SPEC_BUILDS, bytes };
}

async function main(): Promise<void> {
  const { runs, warmup, settings } = options();
  const containerd = new PrivateContainerd({ dir: CONTAINERD_DIR });
  const agents: AgentProcess[] = [];
  try {
    await containerd.start();
    await containerd.importImage(path.join(root, TEST_IMAGE_TAR), TEST_IMAGE_BASE, BENCH_NAMESPACE);
    for (const [i, setting] of settings.entries()) {
      agents.push(
        await startAgentProcess({
          socketPath: containerd.socketPath,
          namespace: BENCH_NAMESPACE,
          agentId: `bench-seccomp-${i}`,
          capacity: 5,
          extraArgs: setting.args,
        }),
      );
    }
    say(`${warmup} warm-up and ${runs} timed creates per setting, interleaved`);
    const samples = await measureInterleaved(agents.map(agentPath), runs, warmup);
    const summaries = settings.map((s, i) => summarize(s.label, samples[i] ?? []));
    const base = summaries[1]?.p50 ?? Number.NaN;
    const read = (p: string) => readFileSync(p, "utf8");
    process.stdout.write(
      [
        `create+start through fsb-agent, busybox sleep 3600, ${runs} runs each after ${warmup} warm-up`,
        formatTable(summaries),
        ...summaries.map(
          (s) => `p50 over unconfined: ${(s.p50 / base).toFixed(3)}× (${ms(s.p50 - base)} ms) ${s.path}`,
        ),
        ...settings.flatMap(({ seccomp, label }) => {
          if (seccomp === undefined) return [];
          const cost = specCost(loadSeccompSetting(seccompChoice(seccomp, "--seccomp"), read, "--seccomp"));
          return [`spec build ${cost.micros.toFixed(1)} µs, ${cost.bytes} bytes of JSON: ${label}`];
        }),
        "",
      ].join("\n"),
    );
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

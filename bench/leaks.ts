/**
 * Leak check: create/delete cycles through a standalone system (private containerd, fsb-controller,
 * local agents, janitor), fast and strong, one at a time and 8 at once; then counts what is left in
 * every place a sandbox occupies. Every count must be 0.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { ConsistencyMode } from "../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { TEST_IMAGE } from "../test/harness/constants.ts";
import { type BenchSystem, type Leftovers, startBenchSystem } from "./bench-system.ts";
import { formatTable, summarize } from "./stats.ts";

const DEFAULT_CYCLES = 1000;
const AGENTS = 4;
/** Room for the 8 lanes' sandboxes and the deletes still finishing behind them. */
const CAPACITY = 16;
const CONCURRENT_LANES = 8;
/**
 * Each create exposes a port from this range, rotating, so the registry's port book is exercised
 * too; a port comes round again only thousands of cycles later, long after its sandbox went.
 */
const PORT_BASE = 20_000;
const PORT_RANGE = 2000;
const CALL_TIMEOUT_MS = 60_000;
const GONE_TIMEOUT_MS = 120_000;
const GONE_POLL_MS = 200;
const PROGRESS_EVERY = 250;
const EXIT_INTERRUPTED = 130;
const COMMAND = ["sleep", "3600"];
/** Where a run that failed or leaked keeps the system's logs. */
const LOGS_DIR = path.resolve(import.meta.dirname, "../.fsb-dev/bench-leaks-logs");

const usage = `Usage: node bench/leaks.ts [--cycles N] [--json]

Runs N create/delete cycles in each of four series (fast and strong mode, sequential and ${CONCURRENT_LANES} at
once) through a standalone system with ${AGENTS} local agents, waits for the deletes to finish, and prints
what is left: containers, tasks, snapshots, shims, log files, registry slots and ports, store records.

  --cycles N   cycles per series (default ${DEFAULT_CYCLES})
  --json       print the result as JSON
`;

interface Series {
  name: string;
  mode: ConsistencyMode;
  lanes: number;
}

const SERIES: Series[] = [
  { name: "fast, sequential", mode: ConsistencyMode.FAST, lanes: 1 },
  { name: "strong, sequential", mode: ConsistencyMode.STRONG, lanes: 1 },
  { name: `fast, ${CONCURRENT_LANES} at once`, mode: ConsistencyMode.FAST, lanes: CONCURRENT_LANES },
  { name: `strong, ${CONCURRENT_LANES} at once`, mode: ConsistencyMode.STRONG, lanes: CONCURRENT_LANES },
];

function say(message: string): void {
  process.stderr.write(`[bench:leaks] ${message}\n`);
}

interface SeriesResult {
  name: string;
  cycles: number;
  errors: string[];
  createMs: number[];
  seconds: number;
}

async function runSeries(
  system: BenchSystem,
  series: Series,
  cycles: number,
  portOffset: number,
  signal: AbortSignal,
): Promise<SeriesResult> {
  const client = system.grpc;
  const errors: string[] = [];
  const createMs: number[] = [];
  let next = 0;
  const started = performance.now();
  const tag = series.name.replace(/[^a-z0-9]+/g, "-");
  const lane = async () => {
    while (next < cycles) {
      signal.throwIfAborted();
      const i = next++;
      const name = `leak-${tag}-${i}`;
      const port = PORT_BASE + ((portOffset + i) % PORT_RANGE);
      const t0 = performance.now();
      try {
        await client.createSandbox(
          { name, image: TEST_IMAGE, command: COMMAND, exposedPorts: [port], consistencyMode: series.mode },
          { timeoutMs: CALL_TIMEOUT_MS },
        );
        createMs.push(performance.now() - t0);
      } catch (err) {
        errors.push(`create ${name}: ${(err as Error).message}`);
        continue;
      }
      // The next cycle starts while this delete is still being carried out, as a busy client's would.
      await client
        .deleteSandbox({ name, gracePeriodSeconds: 0 }, { timeoutMs: CALL_TIMEOUT_MS })
        .catch((err: Error) => errors.push(`delete ${name}: ${err.message}`));
      if ((i + 1) % PROGRESS_EVERY === 0) say(`${series.name}: ${i + 1}/${cycles}`);
    }
  };
  await Promise.all(Array.from({ length: series.lanes }, lane));
  return { name: series.name, cycles, errors, createMs, seconds: (performance.now() - started) / 1000 };
}

async function settle(system: BenchSystem): Promise<Settled> {
  const started = performance.now();
  let left = await system.leftovers();
  while (Object.values(left).some((n) => n !== 0) && performance.now() - started < GONE_TIMEOUT_MS) {
    await new Promise((r) => setTimeout(r, GONE_POLL_MS));
    left = await system.leftovers();
  }
  return { ms: performance.now() - started, left };
}

/** The command line: cycles per series and the output format; undefined after --help. */
function parseOptions(argv: string[]): { cycles: number; json: boolean } | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      cycles: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return undefined;
  let cycles = DEFAULT_CYCLES;
  if (values.cycles !== undefined) {
    if (!/^[1-9]\d*$/.test(values.cycles)) throw new Error(`--cycles must be a positive whole number`);
    cycles = Number(values.cycles);
  }
  return { cycles, json: !!values.json };
}

interface Settled {
  ms: number;
  left: Leftovers;
}

function hasLeftovers({ left }: Settled): boolean {
  return Object.values(left).some((n) => n !== 0);
}

function formatReport(cycles: number, results: SeriesResult[], after: Settled[]): string {
  const errors = results.flatMap((r) => r.errors);
  const leaked = after.some(hasLeftovers);
  const line = (r: SeriesResult, k: number) => {
    const gone = ((after[k]?.ms ?? 0) / 1000).toFixed(1);
    const left = Object.entries(after[k]?.left ?? {})
      .map(([key, n]) => `${key} ${n}`)
      .join(", ");
    return `${r.name.padEnd(20)} ${r.seconds.toFixed(1).padStart(6)} s, ${r.errors.length} errors; gone ${gone} s after the last delete; left: ${left}`;
  };
  return [
    `Fast Sandbox leak check: ${cycles} create/delete cycles per series, busybox \`sleep 3600\`, a rotating exposed port`,
    `date:    ${new Date().toISOString()}`,
    `system:  private containerd, fsb-controller, ${AGENTS} local agents × ${CAPACITY} slots, janitor`,
    "",
    formatTable(results.map((r) => summarize(r.name, r.createMs))),
    "",
    ...results.map(line),
    ...errors.slice(0, 20).map((e) => `  ${e}`),
    "",
    `errors: ${errors.length} (target 0: ${errors.length === 0 ? "met" : "NOT met"}); leftovers all 0: ${leaked ? "NOT met" : "met"}`,
  ].join("\n");
}

async function main(): Promise<number> {
  let options: { cycles: number; json: boolean } | undefined;
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
  const { cycles, json } = options;
  const interrupt = new AbortController();
  const onSignal = () => {
    say("interrupted; cleaning up");
    interrupt.abort(new Error("interrupted"));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const system = await startBenchSystem({ agents: AGENTS, capacity: CAPACITY, say });
  let status = 0;
  try {
    const results: SeriesResult[] = [];
    const after: Settled[] = [];
    for (const [k, series] of SERIES.entries()) {
      results.push(await runSeries(system, series, cycles, k * cycles, interrupt.signal));
      after.push(await settle(system));
      say(`${series.name}: done; leftovers ${JSON.stringify(after.at(-1)?.left)}`);
    }
    const report = json
      ? JSON.stringify({ date: new Date().toISOString(), cycles, results, after }, null, 2)
      : formatReport(cycles, results, after);
    process.stdout.write(`${report}\n`);
    status = results.some((r) => r.errors.length > 0) || after.some(hasLeftovers) ? 1 : 0;
    if (status !== 0) {
      await system.saveLogs(LOGS_DIR);
      say(`the system's logs are in ${LOGS_DIR}`);
    }
  } catch (err) {
    status = interrupt.signal.aborted ? EXIT_INTERRUPTED : 1;
    if (!interrupt.signal.aborted) {
      say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      say(`system output:\n${system.standalone.output()}`);
      await system.saveLogs(LOGS_DIR);
      say(`the system's logs are in ${LOGS_DIR}`);
    }
  } finally {
    await system.close();
  }
  return status;
}

process.exit(await main());

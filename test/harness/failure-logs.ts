/**
 * Prints the logs of the processes a failed test used (a controller's output and its agents' log
 * files, an agent's output, a standalone system's log files), and nothing when the test passes.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach } from "node:test";

/** Where a process's logs are: text it printed, and files (read when the test fails). */
export interface LogSource {
  /** Names the process in the printout ("controller pid 123"). */
  label: string;
  output?: () => string;
  /** Log files, or directories whose `*.log` files are all printed. */
  files?: () => string[];
}

/** Each source is printed with at most this many of its last lines; the head of a long log is rarely the clue. */
const MAX_LINES = 200;

interface Tracked {
  source: LogSource;
  startedAt: number;
  endedAt: number | undefined;
}

const tracked = new Set<Tracked>();
let testStartedAt = 0;

// Only inside `node --test` (which sets NODE_TEST_CONTEXT): benchmarks import the harness too, and a
// hook registered outside a test run would make node:test print an empty report.
if (process.env.NODE_TEST_CONTEXT) {
  beforeEach(() => {
    testStartedAt = Date.now();
  });
  afterEach((t) => {
    // Node 24's TestContext has `passed` (set before afterEach runs); @types/node does not declare it.
    if ((t as unknown as { passed?: boolean }).passed !== false) return;
    const used = [...tracked].filter((s) => s.endedAt === undefined || s.endedAt >= testStartedAt);
    if (used.length > 0)
      process.stderr.write(
        render(
          t.name,
          used.map((s) => s.source),
        ),
      );
  });
}

/**
 * Follows `source` from now on; its logs are printed when a test that runs while it is alive (or
 * ends while the test runs) fails. Call the returned function when the process has exited.
 */
export function trackLogs(source: LogSource): () => void {
  const entry: Tracked = { source, startedAt: Date.now(), endedAt: undefined };
  tracked.add(entry);
  return () => {
    entry.endedAt ??= Date.now();
  };
}

function render(testName: string, sources: LogSource[]): string {
  const parts = [`\n===== logs of the processes used by the failed test "${testName}" =====\n`];
  // A restarted controller shares its data dir (and its agents' logs) with the one before it.
  const printed = new Set<string>();
  for (const source of sources) {
    const output = source.output?.();
    if (output) parts.push(section(`${source.label}: output`, output));
    for (const file of logFiles(source.files?.() ?? [])) {
      if (printed.has(file)) continue;
      printed.add(file);
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch {
        continue;
      }
      parts.push(section(`${source.label}: ${file}`, text));
    }
  }
  parts.push("===== end of logs =====\n");
  return parts.join("");
}

function logFiles(paths: string[]): string[] {
  return paths.flatMap((p) => {
    try {
      return readdirSync(p)
        .filter((name) => name.endsWith(".log"))
        .sort()
        .map((name) => path.join(p, name));
    } catch {
      return [p];
    }
  });
}

function section(title: string, text: string): string {
  const lines = text.trimEnd().split("\n");
  const cut = lines.length > MAX_LINES ? `(last ${MAX_LINES} of ${lines.length} lines)\n` : "";
  return `----- ${title} -----\n${cut}${lines.slice(-MAX_LINES).join("\n")}\n`;
}

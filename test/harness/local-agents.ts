/** What a controller's local agent launcher left on disk, and processes a test starts or kills by PID. */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { freePort } from "../../packages/server/src/core/free-port.ts";
import { isProcessRunning, processArgv } from "../../packages/server/src/core/proc-fs.ts";
import { eventually } from "./leftovers.ts";

export interface RecordedAgent {
  agentId: string;
  pid: number;
  port: number;
}

/** The launcher's state file in `agentsDir` (`<data-dir>/agents`); none yet is an empty list. */
export async function readLocalAgents(agentsDir: string): Promise<RecordedAgent[]> {
  const text = await readFile(path.join(agentsDir, "local-agents.json"), "utf8").catch(() => "[]");
  return JSON.parse(text) as RecordedAgent[];
}

/** SIGKILL, as a crash; resolves once the process no longer runs. */
export async function kill9(pid: number): Promise<void> {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  await eventually(
    () => isProcessRunning(pid),
    (running) => !running,
  );
}

/**
 * Starts another fsb-agent with the command line of running agent `templatePid` (so it counts as
 * the launcher's own), on a free port, optionally as another id; detached, as the launcher runs
 * them. Resolves with its PID once it answers /healthz. The caller stops it by PID.
 */
export async function startStrayAgent(
  templatePid: number,
  agentToken: string,
  outputFile: string,
  as?: { agentId: string; pidFile: string },
): Promise<number> {
  const argv = processArgv(templatePid);
  if (!argv || argv.length < 2) throw new Error(`no command line for pid ${templatePid}`);
  const port = await freePort();
  const args = argv.slice(1).map((arg, i, all) => {
    const flag = all[i - 1];
    if (flag === "--http-port") return String(port);
    if (as && flag === "--agent-id") return as.agentId;
    if (as && flag === "--pid-file") return as.pidFile;
    return arg;
  });
  const out = openSync(outputFile, "a");
  const child = spawn(argv[0]!, args, {
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...process.env, FSB_AGENT_TOKEN: agentToken },
  });
  closeSync(out);
  child.unref();
  const pid = child.pid!;
  const healthy = await eventually(
    () =>
      fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      ),
    Boolean,
    20_000,
  );
  if (!healthy) throw new Error(`stray agent pid ${pid} did not answer; see ${outputFile}`);
  return pid;
}

/**
 * Runs the `npm start` entry (fsb-standalone) for end-to-end tests: its own state dir, private
 * containerd, ports and CLI config, so it never meets a developer's instance or another test's.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { FastPathService } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { ContainerRuntime } from "../../packages/server/src/containerd/container-runtime.ts";
import { freePort } from "../../packages/server/src/core/free-port.ts";
import { isHolderAlive, readLockHolder } from "../../packages/server/src/core/lock-file.ts";
import { readPidFile } from "../../packages/server/src/core/pid-file.ts";
import { isProcessRunning, processArgv } from "../../packages/server/src/core/proc-fs.ts";
import { stopProcess } from "../../packages/server/src/core/stop-process.ts";
import { PrivateContainerd } from "../../packages/server/src/standalone/private-containerd.ts";
import { trackLogs } from "./failure-logs.ts";

const root = path.resolve(import.meta.dirname, "../..");
const entry = path.join(root, "packages/server/src/bin/fsb-standalone.ts");
/** A start imports the image and waits for the first agent and the janitor: seconds, more on a loaded machine. */
const READY_TIMEOUT_MS = 60_000;
const NAMESPACE = "k8s.io";

/** One standalone system's place: a state dir and the four ports, kept across restarts. */
export interface StandaloneSite {
  stateDir: string;
  ports: { api: number; metrics: number; health: number; janitor: number };
  /** The command-line flags that put a system there. */
  args: string[];
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface StandaloneProcess {
  site: StandaloneSite;
  pid: number;
  url: string;
  client: Client<typeof FastPathService>;
  output(): string;
  /** SIGINT, as Ctrl-C (or another stop signal: SIGHUP as a closed terminal, SIGTERM), and the exit. */
  interrupt(signal?: "SIGINT" | "SIGHUP" | "SIGTERM"): Promise<RunResult>;
  /** SIGKILL of the standalone process alone: its children live on, as after a crash. */
  kill9(): Promise<void>;
}

/** Options of {@link standaloneSite}. */
export interface StandaloneSiteOptions {
  /** The state dir (created if missing); default a fresh temporary one. */
  stateDir?: string;
  /** Where the fsb-ctl config is written; default under the state dir. */
  cliConfig?: string;
}

/** A state dir and free ports for one standalone system. */
export async function standaloneSite(options: StandaloneSiteOptions = {}): Promise<StandaloneSite> {
  const stateDir = options.stateDir ?? (await mkdtemp(path.join(os.tmpdir(), "fsb-sa-")));
  await mkdir(stateDir, { recursive: true });
  const ports = {
    api: await freePort(),
    metrics: await freePort(),
    health: await freePort(),
    janitor: await freePort(),
  };
  return {
    stateDir,
    ports,
    args: [
      "--state-dir",
      stateDir,
      "--containerd",
      "private",
      "--cli-config",
      options.cliConfig ?? path.join(stateDir, "cli/.fsb/config.yaml"),
      "--api-bind-address",
      `127.0.0.1:${ports.api}`,
      "--metrics-bind-address",
      `127.0.0.1:${ports.metrics}`,
      "--health-probe-bind-address",
      `127.0.0.1:${ports.health}`,
      "--janitor-metrics-bind-address",
      `127.0.0.1:${ports.janitor}`,
      // Parallel tests must not race for the fixed agent ports.
      "--agent-port",
      "0",
    ],
  };
}

/** A Connect client of the site's API, with the token its system wrote. */
export async function siteClient(site: StandaloneSite): Promise<Client<typeof FastPathService>> {
  const token = (await readFile(path.join(site.stateDir, "api-token"), "utf8")).trim();
  return createClient(
    FastPathService,
    createConnectTransport({
      baseUrl: `http://127.0.0.1:${site.ports.api}`,
      httpVersion: "1.1",
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${token}`);
          return next(req);
        },
      ],
    }),
  );
}

/**
 * Ctrl-C for a system this test did not spawn itself (`npm start` in a script): SIGINT to the pid
 * its instance lock names, then the wait until that process is gone.
 */
export async function interruptSite(site: StandaloneSite): Promise<void> {
  const holder = readLockHolder(path.join(site.stateDir, "standalone.lock"));
  if (!holder || !isHolderAlive(holder)) return;
  process.kill(holder.pid, "SIGINT");
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (isProcessRunning(holder.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** Runs the entry with `args` to its exit (for starts that are refused). */
export function runStandalone(args: string[]): Promise<RunResult> {
  const child = spawnEntry(args);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

/** Starts a system at `site` and resolves once it says it is running. */
export async function startStandalone(site: StandaloneSite): Promise<StandaloneProcess> {
  const child = spawnEntry(site.args);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<RunResult>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const output = () => `${stderr}${stdout}`;
  child.once(
    "exit",
    trackLogs({ label: `standalone pid ${child.pid}`, output, files: () => logFiles(site.stateDir) }),
  );
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!/Fast Sandbox is running/.test(stdout)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`fsb-standalone did not start (exit ${child.exitCode}):\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = `http://127.0.0.1:${site.ports.api}`;
  const client = await siteClient(site);
  return {
    site,
    pid: child.pid!,
    url,
    client,
    output,
    async interrupt(signal = "SIGINT") {
      child.kill(signal);
      return closed;
    },
    async kill9() {
      child.kill("SIGKILL");
      await closed;
    },
  };
}

/** What runs for a state dir: each process found through its PID file and checked by its command line. */
export interface SitePids {
  containerd: number | undefined;
  janitor: number | undefined;
  /** Agent id → PID. */
  agents: Record<string, number>;
}

export function sitePids(site: StandaloneSite): SitePids {
  const agentsDir = path.join(site.stateDir, "controller/agents");
  const agents: Record<string, number> = {};
  for (const name of readdirSafe(agentsDir).filter((n) => n.endsWith(".pid"))) {
    const pid = readPidFile(path.join(agentsDir, name));
    if (pid !== undefined && refersTo(pid, site.stateDir)) agents[name.slice(0, -4)] = pid;
  }
  const pidOf = (file: string) => {
    const pid = readPidFile(path.join(site.stateDir, file));
    return pid !== undefined && refersTo(pid, site.stateDir) ? pid : undefined;
  };
  return { containerd: pidOf("containerd/containerd.pid"), janitor: pidOf("janitor.pid"), agents };
}

/**
 * Every running process whose command line names this state dir (read-only: /proc is scanned to
 * count, never to signal). A test uses it to prove that exactly one of each part runs.
 */
export function processesOf(site: StandaloneSite): Array<{ pid: number; argv: string[] }> {
  const found: Array<{ pid: number; argv: string[] }> = [];
  for (const entry of readdirSafe("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const argv = processArgv(pid);
    if (argv?.some((a) => a.includes(site.stateDir)) && isProcessRunning(pid)) found.push({ pid, argv });
  }
  return found;
}

/**
 * Leaves nothing of a site behind, whatever state a failed test left it in: every container in its
 * containerd goes (so no shim outlives the test; a stopped containerd is started again for that),
 * then containerd, janitor and agents are stopped by the PIDs their files record, and the state
 * dir is removed. Call it after the site's standalone process has exited.
 */
export async function cleanupSite(site: StandaloneSite): Promise<void> {
  const dir = path.join(site.stateDir, "containerd");
  let temporary: PrivateContainerd | undefined;
  if (existsSync(path.join(dir, "root")) && sitePids(site).containerd === undefined) {
    temporary = new PrivateContainerd({ dir });
    await temporary.start();
  }
  const conn = new ContainerdConnection({
    socketPath: path.join(dir, "containerd.sock"),
    namespace: NAMESPACE,
  });
  try {
    const runtime = new ContainerRuntime(conn);
    for (const c of await runtime.list({})) await runtime.delete(c.id, { gracePeriodMs: 0 });
  } catch {
    // no containerd was ever started here
  } finally {
    conn.close();
  }
  await temporary?.stop();
  const pids = sitePids(site);
  for (const pid of [...Object.values(pids.agents), pids.janitor, pids.containerd]) {
    if (pid !== undefined) await stopProcess(pid, 5000);
  }
  await rm(site.stateDir, { recursive: true, force: true });
}

function spawnEntry(args: string[]): ChildProcess {
  return spawn(process.execPath, [entry, ...args], {
    cwd: root,
    env: withoutFsbSettings(process.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** The developer's FSB_* settings (a token, a socket) must not leak into a test system. */
function withoutFsbSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith("FSB_")));
}

/** The log files of a standalone system (its own, the janitor's, every agent's and containerd's). */
export function logFiles(stateDir: string): string[] {
  return [
    path.join(stateDir, "standalone.log"),
    path.join(stateDir, "janitor.log"),
    path.join(stateDir, "controller/agents"),
    path.join(stateDir, "containerd/containerd.log"),
  ];
}

function refersTo(pid: number, stateDir: string): boolean {
  return isProcessRunning(pid) && (processArgv(pid) ?? []).some((a) => a.includes(stateDir));
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Runs a real fsb-agent process for tests and benchmarks, and talks to it over HTTP. */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../packages/server/src/core/free-port.ts";
import { trackLogs } from "./failure-logs.ts";

const root = path.resolve(import.meta.dirname, "../..");
const entry = path.join(root, "packages/server/src/bin/fsb-agent.ts");
const READY_TIMEOUT_MS = 20_000;
/**
 * Test agents make their shim anchor's rootfs here rather than in the system default
 * (/var/lib/fast-sandbox/anchor), so tests leave nothing outside the repository. Shared by every
 * test agent, as the default is by a node's agents. `extraArgs` may name another.
 */
export const TEST_ANCHOR_DIR = path.join(root, ".fsb-dev/test-anchor");

/** Options of {@link startAgentProcess}. */
export interface AgentProcessOptions {
  socketPath: string;
  namespace: string;
  agentId?: string;
  capacity?: number;
  /** Reuse a log dir (and port) across restarts of "the same" agent. */
  logDir?: string;
  port?: number;
  token?: string;
  extraArgs?: string[];
}

/** A response from the agent: status code and parsed JSON (or raw text). */
export interface AgentResponse<T = any> {
  status: number;
  body: T;
}

export interface AgentProcess {
  url: string;
  port: number;
  token: string;
  agentId: string;
  logDir: string;
  pid: number;
  /** Sends a request with the bearer token (override with `headers`). */
  request<T = any>(
    method: string,
    route: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<AgentResponse<T>>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit: the agent dies without any cleanup. */
  kill9(): Promise<void>;
  /** Everything the process printed, for diagnosing failures. */
  output(): string;
}

export { freePort };

/** A fresh log directory for one agent. */
export function tempLogDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), "fsb-agent-logs-"));
}

/** Starts fsb-agent and resolves once /healthz answers 200. */
export async function startAgentProcess(options: AgentProcessOptions): Promise<AgentProcess> {
  const port = options.port ?? (await freePort());
  const token = options.token ?? randomBytes(16).toString("hex");
  const agentId = options.agentId ?? `test-${randomBytes(4).toString("hex")}`;
  const logDir = options.logDir ?? (await tempLogDir());
  const args = [
    entry,
    "--containerd-socket",
    options.socketPath,
    "--containerd-namespace",
    options.namespace,
    "--http-port",
    String(port),
    "--listen-address",
    "127.0.0.1",
    "--agent-id",
    agentId,
    "--log-dir",
    logDir,
    "--log-level",
    "warn",
    "--anchor-dir",
    TEST_ANCHOR_DIR,
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, FSB_AGENT_TOKEN: token, AGENT_CAPACITY: String(options.capacity ?? 5) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  child.once("exit", trackLogs({ label: `agent ${agentId} pid ${child.pid}`, output: () => output }));
  const url = `http://127.0.0.1:${port}`;

  const request = async (
    method: string,
    route: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...headers },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (logs, metrics): keep the text
    }
    return { status: res.status, body: parsed as any };
  };

  await waitHealthy(url, child, () => output);
  return {
    url,
    port,
    token,
    agentId,
    logDir,
    pid: child.pid!,
    request,
    stop: () => terminate(child, "SIGTERM"),
    kill9: () => terminate(child, "SIGKILL"),
    output: () => output,
  };
}

/** Removes a log dir made by {@link tempLogDir}. */
export async function removeLogDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

async function waitHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await terminate(child, "SIGKILL");
  throw new Error(`agent not healthy after ${READY_TIMEOUT_MS} ms:\n${output()}`);
}

function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill(signal);
  });
}

/** The standalone AgentLauncher: a pool's agents as local fsb-agent processes, supervised and re-adopted after a restart. */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { objectKey, PoolDefaults, type SandboxPool } from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { AgentRegistration } from "../../agent/controller-registration.ts";
import { freePort } from "../../core/free-port.ts";
import { isProcessAlive } from "../../core/process-alive.ts";
import type { AgentLauncher, AgentLauncherEvents, LaunchedAgent, PoolRef } from "./agent-launcher.ts";
import { localAgentId } from "./local-agent-id.ts";

/**
 * A pool annotation for standalone: its local agents use this containerd namespace instead of the
 * controller's, so pools on one machine can see different image sets (as nodes would).
 */
export const CONTAINERD_NAMESPACE_ANNOTATION = "sandbox.fast.io/containerd-namespace";

const agentEntry = path.resolve(import.meta.dirname, "../../bin/fsb-agent.ts");
/** An agent answers /healthz within ~100 ms of start here; the bound covers a loaded CI machine. */
const READY_TIMEOUT_MS = 30_000;
const RESTART_DELAY_MS = 1000;
const STOP_TIMEOUT_MS = 15_000;
/** Attempts to bring an agent up, each on a fresh port after the first. */
const LAUNCH_ATTEMPTS = 3;
/** How often an adopted agent (not our child any more) is checked for liveness. */
const ADOPTED_POLL_MS = 2000;

export interface LocalAgentLauncherOptions extends AgentLauncherEvents {
  /** Agent ids start with this (see {@link localAgentId}). */
  idPrefix: string | undefined;
  /** The pool whose agents are named `<idPrefix>-<n>` without the pool's name. */
  defaultPool: PoolRef;
  /** The first agent tries this port, the next ones the ports after it (taken → any free port); 0 = any. */
  basePort: number;
  containerdSocket: string;
  containerdNamespace: string;
  logDir: string;
  /** Holds the state file and each agent's own log. */
  stateDir: string;
  agentToken: string | undefined;
  logger: Logger;
}

/** What the state file keeps of each agent: enough to adopt it, or relaunch it the same way. */
interface LocalAgent {
  agentId: string;
  port: number;
  pid: number;
  pool: PoolRef;
  capacity: number;
  runtime: "container" | "gvisor";
  /** Set when the pool asks for its own (see {@link CONTAINERD_NAMESPACE_ANNOTATION}). */
  containerdNamespace?: string;
  launchedAt: number;
  state: LaunchedAgent["state"];
}

/**
 * Agents run in their own process group, so a Ctrl-C reaches only the controller, which then
 * stops them in order. Their PIDs, ports and settings are kept in a state file: a controller that
 * was killed finds its agents still running (with their sandboxes) and adopts them, and relaunches
 * a dead one under the same id so that it re-adopts that agent's containers.
 */
export class LocalAgentLauncher implements AgentLauncher {
  readonly #o: LocalAgentLauncherOptions;
  readonly #agents = new Map<string, LocalAgent>();
  readonly #stateFile: string;
  #stopping = false;
  readonly #timers = new Set<NodeJS.Timeout>();
  #writing: Promise<void> = Promise.resolve();

  constructor(options: LocalAgentLauncherOptions) {
    this.#o = options;
    this.#stateFile = path.join(options.stateDir, "local-agents.json");
  }

  async start(_signal: AbortSignal): Promise<void> {
    await mkdir(this.#o.stateDir, { recursive: true });
    const previous = await this.#readState();
    await Promise.all(
      previous.map(async (known) => {
        const agent: LocalAgent = { ...known, state: "starting" };
        this.#agents.set(agent.agentId, agent);
        if (await this.#answers(agent)) {
          this.#o.logger.info({ agentId: agent.agentId, pid: agent.pid }, "adopting a running local agent");
          agent.state = "running";
          this.#watchAdopted(agent);
          this.#o.onAgentUp(this.#registration(agent));
        } else {
          // Same id, so the new process re-adopts the containers the old one left running.
          await this.#bringUp(agent, agent.port);
        }
      }),
    );
    await this.#writeState();
  }

  agents(pool: PoolRef): LaunchedAgent[] {
    const key = objectKey(pool.namespace, pool.name);
    return [...this.#agents.values()]
      .filter((a) => objectKey(a.pool.namespace, a.pool.name) === key)
      .map((a) => ({ agentId: a.agentId, pool: { ...a.pool }, state: a.state, launchedAt: a.launchedAt }));
  }

  async launch(pool: SandboxPool): Promise<string> {
    const ref = { namespace: pool.metadata.namespace, name: pool.metadata.name };
    const agentId = this.#freeId(ref);
    const agent: LocalAgent = {
      agentId,
      port: 0,
      pid: 0,
      pool: ref,
      capacity: pool.spec.maxSandboxesPerPod ?? PoolDefaults.maxSandboxesPerPod,
      runtime: pool.spec.runtimeType ?? "container",
      ...containerdNamespaceOf(pool),
      launchedAt: Date.now(),
      state: "starting",
    };
    this.#agents.set(agentId, agent);
    // The caller learns the id at once; the agent reports up through onAgentUp when it answers.
    void this.#bringUp(agent, this.#preferredPort()).then(() => this.#writeState());
    return agentId;
  }

  async remove(_pool: PoolRef, agentId: string): Promise<void> {
    const agent = this.#agents.get(agentId);
    if (!agent || agent.state === "stopping") return;
    agent.state = "stopping";
    this.#o.logger.info({ agentId }, "stopping a drained local agent");
    await stopPid(agent.pid);
    if (this.#agents.get(agentId) === agent) this.#agents.delete(agentId);
    await this.#writeState();
  }

  /** Stops every agent (SIGTERM, then SIGKILL), by PID. Their sandboxes keep running. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const timer of this.#timers) clearTimeout(timer);
    const agents = [...this.#agents.values()];
    // Written first: the next start must know these agents to relaunch them under the same ids.
    await this.#writeState();
    await Promise.all(agents.map((a) => stopPid(a.pid)));
  }

  /** Launches on `port` (or a free one); if the agent does not come up, tries again on fresh ports. */
  async #bringUp(agent: LocalAgent, port: number | undefined): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.#stopping || this.#agents.get(agent.agentId) !== agent || agent.state === "stopping") return;
      try {
        await this.#spawn(agent, port || (await freePort()));
        return;
      } catch (err) {
        if (attempt >= LAUNCH_ATTEMPTS) {
          this.#o.logger.error({ agentId: agent.agentId, err }, "local agent did not start; giving up");
          // Forgotten: the pool controller sees one agent fewer and launches another.
          if (this.#agents.get(agent.agentId) === agent) this.#agents.delete(agent.agentId);
          return;
        }
        this.#o.logger.warn(
          { agentId: agent.agentId, err },
          "local agent did not start; trying another port",
        );
        port = undefined;
      }
    }
  }

  async #spawn(agent: LocalAgent, port: number): Promise<void> {
    const logFile = path.join(this.#o.stateDir, `${agent.agentId}.log`);
    const out = openSync(logFile, "a");
    const token = this.#o.agentToken;
    const child = spawn(process.execPath, [agentEntry, ...this.#agentArgs(agent, port)], {
      detached: true,
      stdio: ["ignore", out, out],
      env: { ...process.env, ...(token ? { FSB_AGENT_TOKEN: token } : {}) },
    });
    closeSync(out);
    agent.port = port;
    agent.pid = child.pid ?? 0;
    agent.state = "starting";
    const pid = agent.pid;
    child.once("exit", (code, signal) => {
      if (this.#stopping || this.#agents.get(agent.agentId) !== agent || agent.pid !== pid) return;
      if (agent.state === "stopping") return;
      this.#o.logger.warn({ agentId: agent.agentId, code, signal }, "local agent exited; restarting it");
      agent.state = "starting";
      this.#o.onAgentDown(agent.agentId);
      // A fresh port: the old one may have been taken meanwhile, and that would loop forever.
      this.#later(() => void this.#bringUp(agent, undefined).then(() => this.#writeState()));
    });
    if (!(await this.#waitReady(agent))) {
      await stopPid(pid);
      throw new Error(`local agent ${agent.agentId} did not become healthy; see ${logFile}`);
    }
    if (agent.state !== "starting") return;
    agent.state = "running";
    this.#o.logger.info({ agentId: agent.agentId, pid, port }, "local agent up");
    this.#o.onAgentUp(this.#registration(agent));
  }

  #agentArgs(agent: LocalAgent, port: number): string[] {
    return [
      "--containerd-socket",
      this.#o.containerdSocket,
      "--containerd-namespace",
      agent.containerdNamespace ?? this.#o.containerdNamespace,
      "--http-port",
      String(port),
      "--listen-address",
      "127.0.0.1",
      "--advertise-address",
      "127.0.0.1",
      "--agent-id",
      agent.agentId,
      "--pool",
      agent.pool.name,
      "--namespace",
      agent.pool.namespace,
      "--log-dir",
      this.#o.logDir,
      "--capacity",
      String(agent.capacity),
      "--runtime",
      agent.runtime,
      ...(this.#o.agentToken ? [] : ["--insecure"]),
    ];
  }

  #watchAdopted(agent: LocalAgent): void {
    const pid = agent.pid;
    const check = () => {
      if (this.#stopping || this.#agents.get(agent.agentId) !== agent || agent.pid !== pid) return;
      if (agent.state === "stopping") return;
      if (isProcessAlive(pid)) return this.#later(check, ADOPTED_POLL_MS);
      this.#o.logger.warn({ agentId: agent.agentId }, "adopted local agent is gone; starting a new one");
      agent.state = "starting";
      this.#o.onAgentDown(agent.agentId);
      void this.#bringUp(agent, undefined).then(() => this.#writeState());
    };
    this.#later(check, ADOPTED_POLL_MS);
  }

  /** The lowest free `n` for the pool's ids, so names stay short and stable across scale cycles. */
  #freeId(pool: PoolRef): string {
    for (let n = 0; ; n++) {
      const id = localAgentId(this.#o.idPrefix, this.#o.defaultPool, pool, n);
      if (!this.#agents.has(id)) return id;
    }
  }

  /** The base port plus the number of agents, when that is still free of our own agents. */
  #preferredPort(): number | undefined {
    if (this.#o.basePort <= 0) return undefined;
    const used = new Set([...this.#agents.values()].map((a) => a.port));
    for (let port = this.#o.basePort; port <= 65535 && port < this.#o.basePort + 1000; port++) {
      if (!used.has(port)) return port;
    }
    return undefined;
  }

  #later(fn: () => void, ms = RESTART_DELAY_MS): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  #registration(agent: LocalAgent): AgentRegistration {
    return {
      agentId: agent.agentId,
      url: `http://127.0.0.1:${agent.port}`,
      address: "127.0.0.1",
      nodeName: "localhost",
      pool: agent.pool.name,
      namespace: agent.pool.namespace,
      capacity: agent.capacity,
      runtime: agent.runtime,
    };
  }

  async #waitReady(agent: LocalAgent): Promise<boolean> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const pid = agent.pid;
    while (Date.now() < deadline && isProcessAlive(pid) && agent.pid === pid) {
      if (await this.#answers(agent)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  /** Whether a process that answers as this agent listens on the port (a PID alone could be reused). */
  async #answers(agent: LocalAgent): Promise<boolean> {
    if (!agent.pid || !isProcessAlive(agent.pid)) return false;
    try {
      const res = await fetch(`http://127.0.0.1:${agent.port}/api/v1/agent/status`, {
        headers: this.#o.agentToken ? { authorization: `Bearer ${this.#o.agentToken}` } : {},
        signal: AbortSignal.timeout(1000),
      });
      if (!res.ok) return false;
      return ((await res.json()) as { agentId?: string }).agentId === agent.agentId;
    } catch {
      return false;
    }
  }

  async #readState(): Promise<LocalAgent[]> {
    try {
      const parsed = JSON.parse(await readFile(this.#stateFile, "utf8")) as unknown;
      if (!Array.isArray(parsed)) return [];
      return parsed.filter(isLocalAgent);
    } catch {
      return [];
    }
  }

  /** Writes are serialised and atomic (temp file + rename): a crash never leaves half a file. */
  #writeState(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      const agents = [...this.#agents.values()].filter((a) => a.pid > 0);
      const temp = `${this.#stateFile}.tmp`;
      try {
        await writeFile(temp, `${JSON.stringify(agents, null, 2)}\n`);
        await rename(temp, this.#stateFile);
      } catch (err) {
        // Only adoption after a crash depends on it; the agents themselves are unaffected.
        this.#o.logger.error({ err, file: this.#stateFile }, "could not write the local agents' state file");
      }
    });
    return this.#writing;
  }
}

function containerdNamespaceOf(pool: SandboxPool): { containerdNamespace?: string } {
  const ns = pool.metadata.annotations?.[CONTAINERD_NAMESPACE_ANNOTATION];
  // The same shape containerd accepts for namespaces; anything else is ignored, not passed to a flag.
  return ns && /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/.test(ns) ? { containerdNamespace: ns } : {};
}

function isLocalAgent(a: unknown): a is LocalAgent {
  const x = a as Partial<LocalAgent> | null;
  return (
    !!x &&
    typeof x.agentId === "string" &&
    typeof x.port === "number" &&
    typeof x.pid === "number" &&
    typeof x.pool?.name === "string" &&
    typeof x.pool?.namespace === "string" &&
    typeof x.capacity === "number" &&
    (x.runtime === "container" || x.runtime === "gvisor")
  );
}

async function stopPid(pid: number): Promise<void> {
  if (!pid || !isProcessAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isProcessAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isProcessAlive(pid)) process.kill(pid, "SIGKILL");
}

/** Runs a pool's agents as local processes (standalone): launch, supervise, re-adopt after a restart, stop. */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { AgentRegistration } from "../agent/controller-registration.ts";
import { freePort } from "../core/free-port.ts";
import { isProcessAlive } from "../core/process-alive.ts";

const agentEntry = path.resolve(import.meta.dirname, "../bin/fsb-agent.ts");
/** An agent answers /healthz within ~100 ms of start here; the bound covers a loaded CI machine. */
const READY_TIMEOUT_MS = 30_000;
const RESTART_DELAY_MS = 1000;
const STOP_TIMEOUT_MS = 15_000;
/** Attempts to bring an agent up, each on a fresh port after the first. */
const LAUNCH_ATTEMPTS = 3;
/** How often an adopted agent (not our child any more) is checked for liveness. */
const ADOPTED_POLL_MS = 2000;

export interface LocalAgentLauncherOptions {
  count: number;
  capacity: number;
  /** Agents are named `<idPrefix>-<n>`. */
  idPrefix: string;
  /** Agent n first tries port `basePort + n` (taken → any free port); 0 = any free port. */
  basePort: number;
  pool: string;
  namespace: string;
  containerdSocket: string;
  containerdNamespace: string;
  logDir: string;
  /** Holds the state file and each agent's own log. */
  stateDir: string;
  agentToken: string | undefined;
  logger: Logger;
  /** Called whenever an agent is up (launched, restarted or adopted). */
  onAgentUp: (registration: AgentRegistration) => void;
  /** Called when an agent went away and is being restarted. */
  onAgentDown: (agentId: string) => void;
}

interface LocalAgent {
  agentId: string;
  port: number;
  pid: number;
}

/**
 * Agents run in their own process group, so a Ctrl-C reaches only the controller, which then
 * stops them in order. Their PIDs and ports are kept in a state file: a controller that was
 * killed finds its agents still running (with their sandboxes) and adopts them instead of
 * starting a second set.
 */
export class LocalAgentLauncher {
  readonly #o: LocalAgentLauncherOptions;
  readonly #agents = new Map<string, LocalAgent>();
  readonly #stateFile: string;
  #stopping = false;
  #timers = new Set<NodeJS.Timeout>();

  constructor(options: LocalAgentLauncherOptions) {
    this.#o = options;
    this.#stateFile = path.join(options.stateDir, "local-agents.json");
  }

  async start(): Promise<void> {
    await mkdir(this.#o.stateDir, { recursive: true });
    const previous = await this.#readState();
    await Promise.all(
      Array.from({ length: this.#o.count }, async (_, index) => {
        const agentId = `${this.#o.idPrefix}-${index}`;
        const known = previous.find((a) => a.agentId === agentId);
        if (known && (await this.#answers(known))) {
          this.#o.logger.info({ agentId, pid: known.pid }, "adopting a running local agent");
          this.#agents.set(agentId, known);
          this.#watchAdopted(known);
          this.#o.onAgentUp(this.#registration(known));
        } else {
          await this.#launchWithRetry(agentId, known?.port ?? this.#preferredPort(index));
        }
      }),
    );
    await this.#writeState();
  }

  /** Stops every agent (SIGTERM, then SIGKILL), by PID. Their sandboxes keep running. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const timer of this.#timers) clearTimeout(timer);
    await Promise.all([...this.#agents.values()].map((a) => stopPid(a.pid)));
    this.#agents.clear();
    await this.#writeState();
  }

  agents(): LocalAgent[] {
    return [...this.#agents.values()];
  }

  /** Launches on `port` (or a free one); if the agent does not come up, tries again on fresh ports. */
  async #launchWithRetry(agentId: string, port: number | undefined): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#launch(agentId, port ?? (await freePort()));
      } catch (err) {
        if (attempt >= LAUNCH_ATTEMPTS || this.#stopping) throw err;
        this.#o.logger.warn({ agentId, err }, "local agent did not start; trying another port");
        port = undefined;
      }
    }
  }

  async #relaunch(agentId: string): Promise<void> {
    try {
      await this.#launchWithRetry(agentId, undefined);
      await this.#writeState();
    } catch (err) {
      this.#o.logger.error({ agentId, err }, "could not restart local agent");
    }
  }

  async #launch(agentId: string, port: number): Promise<void> {
    const logFile = path.join(this.#o.stateDir, `${agentId}.log`);
    const out = openSync(logFile, "a");
    const child = spawn(
      process.execPath,
      [
        agentEntry,
        "--containerd-socket",
        this.#o.containerdSocket,
        "--containerd-namespace",
        this.#o.containerdNamespace,
        "--http-port",
        String(port),
        "--listen-address",
        "127.0.0.1",
        "--advertise-address",
        "127.0.0.1",
        "--agent-id",
        agentId,
        "--pool",
        this.#o.pool,
        "--namespace",
        this.#o.namespace,
        "--log-dir",
        this.#o.logDir,
        "--capacity",
        String(this.#o.capacity),
        ...(this.#o.agentToken ? [] : ["--insecure"]),
      ],
      {
        detached: true,
        stdio: ["ignore", out, out],
        env: { ...process.env, ...(this.#o.agentToken ? { FSB_AGENT_TOKEN: this.#o.agentToken } : {}) },
      },
    );
    closeSync(out);
    const agent: LocalAgent = { agentId, port, pid: child.pid ?? 0 };
    this.#agents.set(agentId, agent);
    child.once("exit", (code, signal) => {
      if (this.#stopping || this.#agents.get(agentId) !== agent) return;
      this.#o.logger.warn({ agentId, code, signal }, "local agent exited; restarting it");
      this.#o.onAgentDown(agentId);
      // A fresh port: the old one may have been taken meanwhile, and that would loop forever.
      this.#later(() => void this.#relaunch(agentId));
    });
    if (!(await this.#waitReady(agent))) {
      this.#agents.delete(agentId);
      await stopPid(agent.pid);
      throw new Error(`local agent ${agentId} did not become healthy; see ${logFile}`);
    }
    this.#o.logger.info({ agentId, pid: agent.pid, port }, "local agent up");
    this.#o.onAgentUp(this.#registration(agent));
  }

  #watchAdopted(agent: LocalAgent): void {
    const check = () => {
      if (this.#stopping || this.#agents.get(agent.agentId) !== agent) return;
      if (isProcessAlive(agent.pid)) return this.#later(check, ADOPTED_POLL_MS);
      this.#o.logger.warn({ agentId: agent.agentId }, "adopted local agent is gone; starting a new one");
      this.#o.onAgentDown(agent.agentId);
      void this.#relaunch(agent.agentId);
    };
    this.#later(check, ADOPTED_POLL_MS);
  }

  #preferredPort(index: number): number | undefined {
    const port = this.#o.basePort > 0 ? this.#o.basePort + index : 0;
    return port > 0 && port <= 65535 ? port : undefined;
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
      pool: this.#o.pool,
      namespace: this.#o.namespace,
      capacity: this.#o.capacity,
      runtime: "container",
    };
  }

  async #waitReady(agent: LocalAgent): Promise<boolean> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline && isProcessAlive(agent.pid)) {
      if (await this.#answers(agent)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  /** Whether a process that answers as this agent listens on the port (a PID alone could be reused). */
  async #answers(agent: LocalAgent): Promise<boolean> {
    if (!isProcessAlive(agent.pid)) return false;
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
      const parsed = JSON.parse(await readFile(this.#stateFile, "utf8")) as LocalAgent[];
      return Array.isArray(parsed) ? parsed.filter((a) => a && typeof a.agentId === "string") : [];
    } catch {
      return [];
    }
  }

  async #writeState(): Promise<void> {
    await writeFile(this.#stateFile, `${JSON.stringify([...this.#agents.values()], null, 2)}\n`);
  }
}

async function stopPid(pid: number): Promise<void> {
  if (!isProcessAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isProcessAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isProcessAlive(pid)) process.kill(pid, "SIGKILL");
}

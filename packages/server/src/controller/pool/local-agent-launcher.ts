/** The standalone AgentLauncher: a pool's agents as local fsb-agent processes, supervised and re-adopted after a restart. */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { objectKey, PoolDefaults, type SandboxPool } from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { AgentRegistration } from "../../agent/controller-registration.ts";
import { SECCOMP_RUNTIME_DEFAULT } from "../../agent/seccomp-setting.ts";
import { freePort } from "../../core/free-port.ts";
import { isProcessRunning } from "../../core/proc-fs.ts";
import { stopProcess } from "../../core/stop-process.ts";
import type { AgentLauncher, AgentLauncherEvents, LaunchedAgent, PoolRef } from "./agent-launcher.ts";
import { agentNetworkArgs } from "./agent-network-args.ts";
import { agentSeccompFlag } from "./agent-seccomp.ts";
import { localAgentId } from "./local-agent-id.ts";
import { agentEntry, agentsHoldingSandboxes, runningAgentPids } from "./local-agent-processes.ts";
import { type LocalAgent, LocalAgentFiles } from "./local-agent-state.ts";

/**
 * A pool annotation for standalone: its local agents use this containerd namespace instead of the
 * controller's, so pools on one machine can see different image sets (as nodes would).
 */
export const CONTAINERD_NAMESPACE_ANNOTATION = "sandbox.fast.io/containerd-namespace";

/** An agent answers /healthz within ~100 ms of start here; the bound covers a loaded CI machine. */
const READY_TIMEOUT_MS = 30_000;
/**
 * How long a recorded agent that still runs gets to answer before it is taken for hung and
 * replaced: one just spawned when the controller died may still be binding its port.
 */
const ADOPT_TIMEOUT_MS = 5000;
const RESTART_DELAY_MS = 1000;
const STOP_TIMEOUT_MS = 15_000;
/** Attempts to bring an agent up, each on a fresh port after the first. */
const LAUNCH_ATTEMPTS = 3;
/** How often an adopted agent (not our child any more) is checked for liveness. */
const ADOPTED_POLL_MS = 2000;
/** How long one status call may take when checking that a port is served by the expected agent. */
const PROBE_TIMEOUT_MS = 1000;

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
  /**
   * Where the agents make their shim anchor's rootfs (`fsb-agent --anchor-dir`): under the
   * controller's data dir, so a standalone system keeps everything it writes in one place.
   */
  anchorDir: string;
  /** The directory a pool's Localhost seccomp profiles are relative to (under the controller's data dir). */
  seccompProfileDir: string;
  /** Holds the state file and each agent's launch spec, PID file and log. */
  stateDir: string;
  agentToken: string | undefined;
  logger: Logger;
}

/**
 * Agents run in their own process group, so a Ctrl-C reaches only the controller, which then
 * stops them in order. What a restarted controller needs is on disk (local-agent-state.ts): the
 * agents it ran, each one's PID file (written by the agent itself) and launch spec. So it adopts
 * the agents still running, stops any other process of theirs, relaunches dead ones under the same
 * id (they re-adopt their containers), and brings back every agent id containerd still holds
 * sandboxes of, even one the state file lost.
 */
export class LocalAgentLauncher implements AgentLauncher {
  /** Every agent of a pool runs here, on the pool's containerd namespace. */
  readonly oneNode = true;
  readonly #o: LocalAgentLauncherOptions;
  readonly #agents = new Map<string, LocalAgent>();
  readonly #files: LocalAgentFiles;
  #stopping = false;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(options: LocalAgentLauncherOptions) {
    this.#o = options;
    this.#files = new LocalAgentFiles(options.stateDir, options.logger);
  }

  async start(_signal: AbortSignal): Promise<void> {
    await mkdir(this.#o.stateDir, { recursive: true });
    const previous = await this.#files.readAgents();
    const wanted = new Map(previous.map((a) => [a.agentId, a]));
    for (const agent of await this.#agentsToBringBack(wanted)) wanted.set(agent.agentId, agent);
    // A process of an id nobody wants any more (left by a crash mid-removal) only holds a port.
    for (const agentId of this.#files.pidFileIds()) {
      if (wanted.has(agentId)) continue;
      for (const pid of runningAgentPids(this.#files, agentId)) {
        this.#o.logger.info({ agentId, pid }, "stopping a local agent that is no longer wanted");
        await stopProcess(pid, STOP_TIMEOUT_MS);
      }
    }
    await Promise.all([...wanted.values()].map((known) => this.#adoptOrRelaunch(known)));
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
      seccomp: agentSeccompFlag(pool.spec.seccompProfile, this.#o.seccompProfileDir),
      networkArgs: agentNetworkArgs(pool.spec.network),
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
    await stopProcess(agent.pid, STOP_TIMEOUT_MS);
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
    await Promise.all(agents.map((a) => stopProcess(a.pid, STOP_TIMEOUT_MS)));
  }

  /**
   * Agent ids that containerd still holds sandboxes of but the state file does not list: launched
   * here before (their launch spec says how) and lost from the state (a crash, a removal that raced
   * a create). They come back under the same id so that their sandboxes are adopted again; the pool
   * controller drains and removes them once empty, as any agent.
   */
  async #agentsToBringBack(listed: Map<string, LocalAgent>): Promise<LocalAgent[]> {
    const specs = this.#files.readLaunchSpecs();
    const namespaces = [this.#o.containerdNamespace];
    for (const spec of [...specs.values(), ...listed.values()]) {
      if (spec.containerdNamespace) namespaces.push(spec.containerdNamespace);
    }
    let held: Set<string>;
    try {
      held = await agentsHoldingSandboxes(this.#o.containerdSocket, namespaces);
    } catch (err) {
      this.#o.logger.warn({ err }, "could not list containerd's sandboxes; only listed agents come back");
      return [];
    }
    const back: LocalAgent[] = [];
    for (const agentId of held) {
      const spec = specs.get(agentId);
      if (listed.has(agentId) || !spec) continue;
      this.#o.logger.info({ agentId }, "bringing back a local agent whose sandboxes still run");
      back.push({ ...spec, port: 0, pid: 0, launchedAt: Date.now(), state: "starting" });
    }
    return back;
  }

  /** Adopts the agent if its recorded process answers as it; otherwise stops what runs of it and relaunches. */
  async #adoptOrRelaunch(known: LocalAgent): Promise<void> {
    const agent: LocalAgent = { ...known, state: "starting" };
    this.#agents.set(agent.agentId, agent);
    const running = runningAgentPids(this.#files, agent.agentId, agent.pid);
    if (running.includes(agent.pid) && (await this.#answersWithin(agent, ADOPT_TIMEOUT_MS))) {
      for (const pid of running.filter((p) => p !== agent.pid)) {
        this.#o.logger.info({ agentId: agent.agentId, pid }, "stopping a second process of an adopted agent");
        await stopProcess(pid, STOP_TIMEOUT_MS);
      }
      this.#o.logger.info({ agentId: agent.agentId, pid: agent.pid }, "adopting a running local agent");
      agent.state = "running";
      this.#watchAdopted(agent);
      this.#o.onAgentUp(this.#registration(agent));
      return;
    }
    // Same id, so the new process re-adopts the containers the old one left running.
    await this.#bringUp(agent, agent.port || this.#preferredPort());
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
    // Never two processes of one id: an older one (from before a crash) would keep the port and
    // fight the new one over the same containers.
    for (const pid of runningAgentPids(this.#files, agent.agentId, agent.pid)) {
      this.#o.logger.info({ agentId: agent.agentId, pid }, "stopping an older process of this local agent");
      await stopProcess(pid, STOP_TIMEOUT_MS);
    }
    agent.port = port;
    agent.pid = 0;
    // Recorded before the process exists, so a crash right after the spawn still finds it.
    this.#files.writeLaunchSpec(agent);
    await this.#writeState();
    if (this.#stopping) return;
    const logFile = this.#files.logFile(agent.agentId);
    const out = openSync(logFile, "a");
    const token = this.#o.agentToken;
    const child = spawn(process.execPath, [agentEntry, ...this.#agentArgs(agent, port)], {
      detached: true,
      stdio: ["ignore", out, out],
      env: { ...process.env, ...(token ? { FSB_AGENT_TOKEN: token } : {}) },
    });
    closeSync(out);
    agent.pid = child.pid ?? 0;
    agent.state = "starting";
    const pid = agent.pid;
    void this.#writeState();
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
      await stopProcess(pid, STOP_TIMEOUT_MS);
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
      "--anchor-dir",
      this.#o.anchorDir,
      "--capacity",
      String(agent.capacity),
      "--runtime",
      agent.runtime,
      "--seccomp",
      agent.seccomp ?? SECCOMP_RUNTIME_DEFAULT,
      // An agent launched before network modes ran its sandboxes in its own namespace: it keeps doing so.
      ...(agent.networkArgs ?? ["--network-mode", "agent"]),
      "--pid-file",
      this.#files.pidFile(agent.agentId),
      ...(this.#o.agentToken ? [] : ["--insecure"]),
    ];
  }

  #watchAdopted(agent: LocalAgent): void {
    const pid = agent.pid;
    const check = () => {
      if (this.#stopping || this.#agents.get(agent.agentId) !== agent || agent.pid !== pid) return;
      if (agent.state === "stopping") return;
      if (isProcessRunning(pid)) return this.#later(check, ADOPTED_POLL_MS);
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
    return this.#answersWithin(agent, READY_TIMEOUT_MS);
  }

  /** Polls until the agent's process answers as it, or `timeoutMs` passes, or the process is gone. */
  async #answersWithin(agent: LocalAgent, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const pid = agent.pid;
    while (Date.now() < deadline && isProcessRunning(pid) && agent.pid === pid) {
      if (await this.#answers(agent)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  /** Whether a process that answers as this agent listens on the port (a PID alone could be reused). */
  async #answers(agent: LocalAgent): Promise<boolean> {
    if (!agent.pid || !isProcessRunning(agent.pid)) return false;
    try {
      const res = await fetch(`http://127.0.0.1:${agent.port}/api/v1/agent/status`, {
        headers: this.#o.agentToken ? { authorization: `Bearer ${this.#o.agentToken}` } : {},
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      if (!res.ok) return false;
      return ((await res.json()) as { agentId?: string }).agentId === agent.agentId;
    } catch {
      return false;
    }
  }

  #writeState(): Promise<void> {
    return this.#files.writeAgents(() => [...this.#agents.values()]);
  }
}

function containerdNamespaceOf(pool: SandboxPool): { containerdNamespace?: string } {
  const ns = pool.metadata.annotations?.[CONTAINERD_NAMESPACE_ANNOTATION];
  // The same shape containerd accepts for namespaces; anything else is ignored, not passed to a flag.
  return ns && /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/.test(ns) ? { containerdNamespace: ns } : {};
}

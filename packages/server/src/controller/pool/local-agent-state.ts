/** What the local agent launcher keeps on disk: the agents it runs (a state file) and how it last launched each id. */
import { readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { LaunchedAgent, PoolRef } from "./agent-launcher.ts";

/** How an agent id was launched: enough to launch it again the same way. */
export interface AgentLaunchSpec {
  agentId: string;
  pool: PoolRef;
  capacity: number;
  runtime: "container" | "gvisor";
  /** Set when the pool asks for its own containerd namespace. */
  containerdNamespace?: string;
  /** The agent's `--seccomp` value; absent in launch specs written before pools had one (runtime-default). */
  seccomp?: string;
  /** The agent's network flags (agent-network-args.ts); absent in specs written before network modes (mode agent). */
  networkArgs?: string[];
}

/** One agent the launcher runs: its launch spec, where it listens, and its process (pid 0: not spawned yet). */
export interface LocalAgent extends AgentLaunchSpec {
  port: number;
  pid: number;
  launchedAt: number;
  state: LaunchedAgent["state"];
}

const STATE_FILE = "local-agents.json";
/** Per-id launch specs end in this; the agent's own PID file is `<id>.pid` and its output `<id>.log`. */
const SPEC_SUFFIX = ".launch.json";
const PID_SUFFIX = ".pid";

/** The files of one launcher's state directory. */
export class LocalAgentFiles {
  readonly dir: string;
  readonly #log: Logger;
  #writing: Promise<void> = Promise.resolve();

  constructor(dir: string, logger: Logger) {
    this.dir = dir;
    this.#log = logger;
  }

  pidFile(agentId: string): string {
    return path.join(this.dir, `${agentId}${PID_SUFFIX}`);
  }

  logFile(agentId: string): string {
    return path.join(this.dir, `${agentId}.log`);
  }

  /** The agents the state file lists; an unreadable file lists none (their containers still bring them back). */
  async readAgents(): Promise<LocalAgent[]> {
    try {
      const parsed = JSON.parse(await readFile(path.join(this.dir, STATE_FILE), "utf8")) as unknown;
      return Array.isArray(parsed) ? parsed.filter(isLocalAgent) : [];
    } catch {
      return [];
    }
  }

  /**
   * Writes the state file. Writes are serialised and atomic (temp file + rename): a crash never
   * leaves half a file. Agents not spawned yet are listed too (pid 0), so a crash between the
   * decision and the spawn still brings them up on the next start.
   */
  writeAgents(agents: () => LocalAgent[]): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      const file = path.join(this.dir, STATE_FILE);
      const temp = `${file}.tmp`;
      try {
        await writeFile(temp, `${JSON.stringify(agents(), null, 2)}\n`);
        await rename(temp, file);
      } catch (err) {
        // Only adoption after a crash depends on it; the agents themselves are unaffected.
        this.#log.error({ err, file }, "could not write the local agents' state file");
      }
    });
    return this.#writing;
  }

  /**
   * Records how `spec.agentId` is launched, before its process exists. It is kept after the agent
   * is removed: should containerd still hold sandboxes of that id, the next start brings it back.
   */
  writeLaunchSpec(spec: AgentLaunchSpec): void {
    const file = path.join(this.dir, `${spec.agentId}${SPEC_SUFFIX}`);
    const { agentId, pool, capacity, runtime, containerdNamespace, seccomp, networkArgs } = spec;
    writeFileSync(
      `${file}.tmp`,
      `${JSON.stringify({ agentId, pool, capacity, runtime, containerdNamespace, seccomp, networkArgs })}\n`,
    );
    renameSync(`${file}.tmp`, file);
  }

  /** Every launch spec on record, by agent id. */
  readLaunchSpecs(): Map<string, AgentLaunchSpec> {
    const specs = new Map<string, AgentLaunchSpec>();
    for (const name of this.#names(SPEC_SUFFIX)) {
      try {
        const spec = JSON.parse(
          readFileSync(path.join(this.dir, `${name}${SPEC_SUFFIX}`), "utf8"),
        ) as unknown;
        if (isLaunchSpec(spec) && spec.agentId === name) specs.set(name, spec);
      } catch {
        // half-written by a crash: that id is treated as never launched
      }
    }
    return specs;
  }

  /** Agent ids that have a PID file. */
  pidFileIds(): string[] {
    return this.#names(PID_SUFFIX);
  }

  #names(suffix: string): string[] {
    let entries: string[];
    try {
      entries = readdirSync(this.dir);
    } catch {
      return [];
    }
    return entries.filter((e) => e.endsWith(suffix)).map((e) => e.slice(0, -suffix.length));
  }
}

function isLaunchSpec(a: unknown): a is AgentLaunchSpec {
  const x = a as Partial<AgentLaunchSpec> | null;
  return (
    !!x &&
    typeof x.agentId === "string" &&
    typeof x.pool?.name === "string" &&
    typeof x.pool?.namespace === "string" &&
    typeof x.capacity === "number" &&
    (x.runtime === "container" || x.runtime === "gvisor") &&
    (x.containerdNamespace === undefined || typeof x.containerdNamespace === "string") &&
    (x.seccomp === undefined || typeof x.seccomp === "string") &&
    (x.networkArgs === undefined ||
      (Array.isArray(x.networkArgs) && x.networkArgs.every((arg) => typeof arg === "string")))
  );
}

function isLocalAgent(a: unknown): a is LocalAgent {
  const x = a as Partial<LocalAgent> | null;
  return isLaunchSpec(a) && typeof x?.port === "number" && typeof x.pid === "number";
}

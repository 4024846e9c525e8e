/** The time after a controller start in which agents it has not heard from yet are expected back. */
import { DEFAULT_POOL, type Sandbox } from "@fast-sandbox/api";
import type { AgentRegistry } from "./registry/agent-registry.ts";

/**
 * Self-registered agents learn of a new controller (a restart, a new leader) only through their next
 * heartbeat, which needs the API port open. So the window starts when the API opens and lasts the
 * loss timeout: until then an agent that sandboxes point at is not lost but not heard from yet, a
 * create on a pool of self-registered agents waits for them, and the agent list is not given out.
 */
export class AgentReturnWindow {
  readonly #lengthMs: number;
  readonly #now: () => number;
  #openedAt: number | undefined;

  constructor(lengthMs: number, now: () => number = Date.now) {
    this.#lengthMs = lengthMs;
    this.#now = now;
  }

  /** The API serves from now on (later calls change nothing). */
  opened(): void {
    this.#openedAt ??= this.#now();
  }

  /** When the window ends (epoch ms); Infinity while the API has not opened yet. */
  get until(): number {
    return this.#openedAt === undefined ? Number.POSITIVE_INFINITY : this.#openedAt + this.#lengthMs;
  }

  /** Whether agents not heard from yet may still come back. */
  get open(): boolean {
    return this.#now() < this.until;
  }
}

/**
 * Whether a sandbox of the pool is placed on an agent this controller has not heard from yet (not
 * registered, or registered and not probed): the pool had that agent when the sandbox was recorded,
 * and it may come back.
 */
export function hasAwaitedAgent(
  sandboxes: readonly Sandbox[],
  registry: AgentRegistry,
  namespace: string,
  pool: string,
): boolean {
  return sandboxes.some((s) => {
    const agentId = s.status?.assignedAgent;
    if (!agentId || s.metadata.namespace !== namespace || (s.spec.poolRef || DEFAULT_POOL) !== pool)
      return false;
    const agent = registry.agent(agentId);
    // Registered but not answered yet: its slots and images are not known either.
    return agent === undefined || agent.placeholder === true || agent.lastHeartbeat === 0;
  });
}

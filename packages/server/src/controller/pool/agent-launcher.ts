/** The AgentLauncher interface: how the pool controller starts and stops a pool's agents (local processes or Pods). */
import type { SandboxPool } from "@fast-sandbox/api";
import type { AgentRegistration } from "../../agent/controller-registration.ts";

/** A pool, by namespace and name. */
export interface PoolRef {
  namespace: string;
  name: string;
}

/**
 * Where a launched agent is. `starting`: asked for (process spawned or Pod created) but not yet
 * answering; `running`: answering; `stopping`: being removed. An agent the launcher lost (crashed
 * process being restarted, Pod gone) is reported as `starting` again while it is replaced.
 */
export type LaunchedAgentState = "starting" | "running" | "stopping";

export interface LaunchedAgent {
  agentId: string;
  pool: PoolRef;
  state: LaunchedAgentState;
  /** Epoch ms of the launch request, so a launch that never comes up can be given up on. */
  launchedAt: number;
}

/** Callbacks every launcher implementation reports through. */
export interface AgentLauncherEvents {
  /** An agent answers (launched, restarted, adopted, or its Pod became ready): register and probe it. */
  onAgentUp: (registration: AgentRegistration) => void;
  /** An agent stopped answering or went away (it may be replaced under the same id). */
  onAgentDown: (agentId: string) => void;
  /** An agent failed for good (its Pod failed) and is being replaced: told as the pool's event. */
  onAgentFailed?: (pool: PoolRef, agentId: string, detail: string) => void;
}

/**
 * Starts and stops a pool's agents. The launcher is the pool controller's memory of what it asked
 * for: `agents()` includes launches still in flight and removals not yet finished (expectations),
 * so a slow view of the world (a Pod cache, a process that has not bound its port yet) never makes
 * the controller launch twice for the same need.
 */
export interface AgentLauncher {
  /**
   * Whether a pool's agents all run on one node, on one containerd, so a new agent has exactly the
   * images the present ones have (local processes); false when each may land on another node (Pods).
   */
  readonly oneNode: boolean;
  /** Learns what already runs (a state file, existing Pods) before the first reconcile. */
  start(signal: AbortSignal): Promise<void>;
  /** The pool's agents as the launcher knows them now, including starting and stopping ones. */
  agents(pool: PoolRef): LaunchedAgent[];
  /** Asks for one more agent for the pool and returns its id; it reports up through `onAgentUp`. */
  launch(pool: SandboxPool): Promise<string>;
  /** Stops one agent (the caller has drained it). Idempotent; unknown ids are a no-op. */
  remove(pool: PoolRef, agentId: string): Promise<void>;
  /** Stops supervising. Local agent processes are stopped (their sandboxes keep running); Pods stay. */
  stop(): Promise<void>;
}

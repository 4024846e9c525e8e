/**
 * What the launcher asked the API server for and has not seen in its Pod cache yet (creates) or not
 * seen go (deletes), so a slow cache never makes the pool controller launch or count twice.
 */
import { objectKey } from "@fast-sandbox/api";
import type { PoolRef } from "./agent-launcher.ts";

/**
 * A watch delivers a created Pod within seconds; one not seen after this long was lost (its create
 * failed after the request, or the Pod went before the cache saw it), and the pool controller should
 * be free to ask again.
 */
export const DEFAULT_EXPECTATION_TIMEOUT_MS = 3 * 60_000;

export interface Expectation {
  agentId: string;
  pool: PoolRef;
  /** `create`: asked for, not seen yet. `delete`: asked to go, not seen gone yet. */
  kind: "create" | "delete";
  /** When it was asked for (epoch ms). */
  at: number;
}

/** Pending creates and deletes by agent id; pure bookkeeping, the caller supplies the time. */
export class LaunchExpectations {
  readonly #timeoutMs: number;
  readonly #byAgent = new Map<string, Expectation>();

  constructor(timeoutMs = DEFAULT_EXPECTATION_TIMEOUT_MS) {
    this.#timeoutMs = timeoutMs;
  }

  /** A Pod for `agentId` was just asked for. */
  expectCreate(pool: PoolRef, agentId: string, now: number): void {
    this.#byAgent.set(agentId, { agentId, pool: { ...pool }, kind: "create", at: now });
  }

  /** The agent's Pod was just asked to go (this replaces a create still pending). */
  expectDelete(pool: PoolRef, agentId: string, now: number): void {
    this.#byAgent.set(agentId, { agentId, pool: { ...pool }, kind: "delete", at: now });
  }

  /** The cache holds the agent's Pod: a pending create is fulfilled (a pending delete is not). */
  observedPresent(agentId: string): void {
    if (this.#byAgent.get(agentId)?.kind === "create") this.#byAgent.delete(agentId);
  }

  /** The agent's Pod is gone from the cache: nothing is pending for it any more. */
  observedGone(agentId: string): void {
    this.#byAgent.delete(agentId);
  }

  /** Drops whatever is pending for the agent (the request itself failed). */
  forget(agentId: string): void {
    this.#byAgent.delete(agentId);
  }

  /** What is pending for the agent, unless it timed out. */
  get(agentId: string, now: number): Expectation | undefined {
    const e = this.#byAgent.get(agentId);
    if (e === undefined) return undefined;
    if (now - e.at >= this.#timeoutMs) {
      this.#byAgent.delete(agentId);
      return undefined;
    }
    return e;
  }

  /** Everything pending for a pool; timed-out expectations are dropped on the way. */
  forPool(pool: PoolRef, now: number): Expectation[] {
    const key = objectKey(pool.namespace, pool.name);
    const out: Expectation[] = [];
    for (const e of [...this.#byAgent.values()]) {
      if (this.get(e.agentId, now) === undefined) continue;
      if (objectKey(e.pool.namespace, e.pool.name) === key) out.push({ ...e, pool: { ...e.pool } });
    }
    return out;
  }

  /** Whether anything is pending for the agent id (so a new id does not reuse it). */
  has(agentId: string, now: number): boolean {
    return this.get(agentId, now) !== undefined;
  }
}

/** Removes containers that agents run but no Sandbox owns, once they are older than the orphan timeout. */
import type { Logger } from "pino";
import type { AgentSandboxView, AgentStatusView } from "./agent-api.ts";
import type { AgentMonitor } from "./agent-monitor.ts";
import type { ControllerMetrics } from "./controller-metrics.ts";
import type { AgentRegistry } from "./registry/agent-registry.ts";

export interface OrphanCollectorOptions {
  monitor: AgentMonitor;
  registry: AgentRegistry;
  logger: Logger;
  metrics: ControllerMetrics;
  /** Sandbox ids that Sandbox objects currently point at. */
  ownedSandboxIds: () => Set<string>;
  /** Sandbox ids of fast creates still being recorded. */
  pendingSandboxIds: () => Set<string>;
  /** Younger containers are left alone: their object may simply not be written yet. */
  orphanTimeoutMs: number;
  now?: () => number;
}

/** Which of an agent's sandboxes are orphans now (pure, for tests). */
export function findOrphans(
  sandboxes: readonly AgentSandboxView[],
  owned: ReadonlySet<string>,
  pending: ReadonlySet<string>,
  now: number,
  orphanTimeoutMs: number,
): AgentSandboxView[] {
  return sandboxes.filter((s) => {
    if (owned.has(s.sandboxId) || pending.has(s.sandboxId) || s.phase === "Deleting") return false;
    const created = Date.parse(s.createdAt);
    return Number.isNaN(created) || now - created >= orphanTimeoutMs;
  });
}

/**
 * Runs after each agent status. The agent's own labels already prove the container is ours; the
 * controller decides it is unowned. Deletes are graceful-free (grace 0): nobody is using it.
 */
export class OrphanCollector {
  readonly #o: OrphanCollectorOptions;
  readonly #inFlight = new Set<string>();

  constructor(options: OrphanCollectorOptions) {
    this.#o = options;
  }

  collect(agentId: string, status: AgentStatusView): void {
    const now = (this.#o.now ?? Date.now)();
    const orphans = findOrphans(
      status.sandboxes,
      this.#o.ownedSandboxIds(),
      this.#o.pendingSandboxIds(),
      now,
      this.#o.orphanTimeoutMs,
    );
    const client = this.#o.monitor.client(agentId);
    if (!client) return;
    for (const orphan of orphans) {
      if (this.#inFlight.has(orphan.sandboxId)) continue;
      this.#inFlight.add(orphan.sandboxId);
      this.#o.logger.info(
        { agentId, sandboxId: orphan.sandboxId, name: orphan.name },
        "removing orphan container",
      );
      client
        .delete(orphan.sandboxId, { gracePeriodSeconds: 0 })
        .then(() => {
          this.#o.registry.release(orphan.sandboxId);
          this.#o.metrics.countOrphan("unowned");
        })
        .catch((err: unknown) =>
          this.#o.logger.warn({ err, sandboxId: orphan.sandboxId }, "orphan removal failed"),
        )
        .finally(() => this.#inFlight.delete(orphan.sandboxId));
    }
  }
}

/** Prometheus metrics of the controller. Labels stay bounded: mode, result, pool; never a sandbox name. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { EventRecorder } from "../core/event-recorder.ts";
import type { AgentRegistry } from "./registry/agent-registry.ts";

/** Fast creates land around 70 ms, strong ones a little later; gVisor and cold shims take longer. */
const CREATE_BUCKETS = [0.01, 0.02, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5, 10, 30];

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly #creates: Histogram<"mode" | "result">;
  readonly #orphans: Counter<"reason">;

  constructor(agents: AgentRegistry, events?: EventRecorder) {
    collectDefaultMetrics({ register: this.registry });
    this.#creates = new Histogram({
      name: "fsb_create_duration_seconds",
      help: "CreateSandbox latency inside the controller, by consistency mode and result.",
      labelNames: ["mode", "result"],
      buckets: CREATE_BUCKETS,
      registers: [this.registry],
    });
    this.#orphans = new Counter({
      name: "fsb_orphans_removed_total",
      help: "Containers the controller removed because no Sandbox object owns them, by reason.",
      labelNames: ["reason"],
      registers: [this.registry],
    });
    new Gauge({
      name: "fsb_registry_agents",
      help: "Agents known to the registry, by health.",
      labelNames: ["state"],
      registers: [this.registry],
      collect() {
        const stats = agents.stats();
        this.set({ state: "healthy" }, stats.healthyAgents);
        this.set({ state: "unhealthy" }, stats.agents - stats.healthyAgents);
      },
    });
    new Gauge({
      name: "fsb_registry_slots",
      help: "Sandbox slots: total, used, and free for placement now.",
      labelNames: ["state"],
      registers: [this.registry],
      collect() {
        const stats = agents.stats();
        this.set({ state: "total" }, stats.slotsTotal);
        this.set({ state: "used" }, stats.slotsUsed);
        this.set({ state: "free" }, stats.slotsFree);
      },
    });
    new Counter({
      name: "fsb_events_total",
      help: "Kubernetes Events recorded, by outcome: written, folded into a series, throttled, dropped (queue full), failed.",
      labelNames: ["outcome"],
      registers: [this.registry],
      collect() {
        const stats = events?.stats;
        if (!stats) return;
        this.reset();
        for (const [outcome, count] of Object.entries(stats)) this.inc({ outcome }, count);
      },
    });
    new Gauge({
      name: "fsb_registry_ports",
      help: "Exposed ports the registry holds for allocations (per agent address and port).",
      labelNames: ["state"],
      registers: [this.registry],
      collect() {
        this.set({ state: "booked" }, agents.portsBooked());
      },
    });
  }

  observeCreate(mode: string, result: string, seconds: number): void {
    this.#creates.observe({ mode, result }, seconds);
  }

  countOrphan(reason: string): void {
    this.#orphans.inc({ reason });
  }
}

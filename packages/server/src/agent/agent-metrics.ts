/** Prometheus metrics of one agent. Labels stay bounded: never a sandbox id or name. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Create/delete latencies sit between ~10 ms (prewarmed) and seconds (gVisor, slow disks). */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10];

export class AgentMetrics {
  readonly registry = new Registry();
  readonly #creates: Histogram<"result">;
  readonly #deletes: Histogram;
  readonly #requests: Counter<"route" | "code">;

  constructor(sources: { capacity: () => number; allocated: () => number }) {
    collectDefaultMetrics({ register: this.registry });
    this.#creates = new Histogram({
      name: "fsb_agent_create_duration_seconds",
      help: "Time to create and start a sandbox container, by result.",
      labelNames: ["result"],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
    this.#deletes = new Histogram({
      name: "fsb_agent_delete_duration_seconds",
      help: "Time to stop and remove a sandbox container, including its grace period.",
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
    this.#requests = new Counter({
      name: "fsb_agent_http_requests_total",
      help: "HTTP API requests by route and status code.",
      labelNames: ["route", "code"],
      registers: [this.registry],
    });
    new Gauge({
      name: "fsb_agent_capacity",
      help: "Sandbox slots this agent offers.",
      registers: [this.registry],
      collect() {
        this.set(sources.capacity());
      },
    });
    new Gauge({
      name: "fsb_agent_sandboxes",
      help: "Sandbox slots in use (creating, running, exited or deleting).",
      registers: [this.registry],
      collect() {
        this.set(sources.allocated());
      },
    });
  }

  observeCreate(result: "ok" | "error", seconds: number): void {
    this.#creates.observe({ result }, seconds);
  }

  observeDelete(seconds: number): void {
    this.#deletes.observe(seconds);
  }

  countRequest(route: string, code: number): void {
    this.#requests.inc({ route, code: String(code) });
  }
}

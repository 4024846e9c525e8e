/** Prometheus metrics of one agent. Labels stay bounded: never a sandbox id or name. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Where the gauges read their values when scraped. */
export interface MetricSources {
  capacity: () => number;
  allocated: () => number;
  prewarmReady: () => number;
  execRunning?: () => number;
  execBufferedBytes?: () => number;
  /** Connections isolated sandboxes were refused, by pool and reason (network/nft-ruleset.ts). */
  deniedConnections?: () => Promise<ReadonlyArray<{ pool: string; reason: string; packets: number }>>;
  /** Network namespaces prepared and waiting for an isolated create. */
  netnsReady?: () => number;
}

/** Create/delete latencies sit between ~10 ms (prewarmed) and seconds (gVisor, slow disks). */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10];

export class AgentMetrics {
  readonly registry = new Registry();
  readonly #creates: Histogram<"result">;
  readonly #deletes: Histogram;
  readonly #requests: Counter<"route" | "code">;
  readonly #prewarmTakes: Counter;
  readonly #prewarmMisses: Counter;
  readonly #prewarmFailures: Counter;
  readonly #resyncs: Histogram<"result">;
  readonly #resyncTaskReads: Counter;
  readonly #resyncConfirmedLocally: Counter;

  constructor(sources: MetricSources) {
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
    new Gauge({
      name: "fsb_agent_prewarm_ready",
      help: "Prewarmed containers created and waiting to be taken, all templates together.",
      registers: [this.registry],
      collect() {
        this.set(sources.prewarmReady());
      },
    });
    sourceMetrics(this.registry, sources);
    // No template label: keys come and go with pool specs, so the series would grow without bound.
    this.#prewarmTakes = new Counter({
      name: "fsb_agent_prewarm_takes_total",
      help: "Creates served by starting a prewarmed container.",
      registers: [this.registry],
    });
    this.#prewarmMisses = new Counter({
      name: "fsb_agent_prewarm_misses_total",
      help: "Creates matching a prewarm template that found no prewarmed container ready.",
      registers: [this.registry],
    });
    this.#prewarmFailures = new Counter({
      name: "fsb_agent_prewarm_failures_total",
      help: "Prewarmed containers that could not be made (missing image, bad command, containerd errors).",
      registers: [this.registry],
    });
    this.#resyncs = new Histogram({
      name: "fsb_agent_resync_duration_seconds",
      help: "Time of one resync of the agent's view with containerd (runs in the background, never on a request), by result.",
      labelNames: ["result"],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
    this.#resyncTaskReads = new Counter({
      name: "fsb_agent_resync_task_reads_total",
      help: "Tasks.Get calls made by resyncs: tasks never confirmed running, or whose process is gone.",
      registers: [this.registry],
    });
    this.#resyncConfirmedLocally = new Counter({
      name: "fsb_agent_resync_confirmed_locally_total",
      help: "Tasks a resync found still running from /proc alone (same pid and start time), asking containerd nothing.",
      registers: [this.registry],
    });
  }

  observeResync(
    result: "ok" | "error",
    seconds: number,
    cost?: { taskReads: number; confirmedLocally: number },
  ): void {
    this.#resyncs.observe({ result }, seconds);
    if (cost) {
      this.#resyncTaskReads.inc(cost.taskReads);
      this.#resyncConfirmedLocally.inc(cost.confirmedLocally);
    }
  }

  countPrewarmTake(): void {
    this.#prewarmTakes.inc();
  }

  countPrewarmMiss(): void {
    this.#prewarmMisses.inc();
  }

  countPrewarmFailure(): void {
    this.#prewarmFailures.inc();
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

/** The exec engine's gauges: running processes, and output held for absent readers (no sandbox label). */
/** The metrics read from the agent's parts when scraped: exec'd processes and the sandbox networks. */
function sourceMetrics(registry: Registry, sources: MetricSources): void {
  execGauges(registry, sources);
  networkMetrics(registry, sources);
}

function execGauges(registry: Registry, sources: MetricSources): void {
  new Gauge({
    name: "fsb_agent_exec_processes",
    help: "Processes exec'd into this agent's sandboxes and still running.",
    registers: [registry],
    collect() {
      this.set(sources.execRunning?.() ?? 0);
    },
  });
  new Gauge({
    name: "fsb_agent_exec_buffered_bytes",
    help: "Output of exec'd processes held for readers not attached (at most 1 MiB per process).",
    registers: [registry],
    collect() {
      this.set(sources.execBufferedBytes?.() ?? 0);
    },
  });
}

function networkMetrics(registry: Registry, sources: MetricSources): void {
  new Counter({
    name: "fsb_agent_egress_denied_total",
    help: "Connections from isolated sandboxes the agent's firewall refused, by pool and reason (host, never, policy).",
    labelNames: ["pool", "reason"],
    registers: [registry],
    // The firewall's own counters are the truth; each scrape copies them (one nft call).
    async collect() {
      const counts = (await sources.deniedConnections?.().catch(() => [])) ?? [];
      this.reset();
      for (const { pool, reason, packets } of counts) this.inc({ pool, reason }, packets);
    },
  });
  new Gauge({
    name: "fsb_agent_netns_ready",
    help: "Network namespaces prepared ahead for isolated sandboxes.",
    registers: [registry],
    collect() {
      this.set(sources.netnsReady?.() ?? 0);
    },
  });
}

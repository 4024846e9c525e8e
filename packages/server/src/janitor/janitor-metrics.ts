/** Prometheus metrics of the janitor. Labels stay bounded: reasons, kinds, results; never an id. */
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import type { OrphanReason } from "./classify.ts";

/** What a leftover is, as a metric label. */
export type LeftoverKind = "log" | "bundle" | "snapshot" | "netns" | "subnet";
/** How a scan ended, as a metric label. */
export type ScanResult = "ok" | "ownership_unavailable" | "error";

/** A scan lists containers and reads ownership once, then re-checks each orphan: well under a second. */
const SCAN_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class JanitorMetrics {
  readonly registry = new Registry();
  readonly #found: Counter<"reason">;
  readonly #removed: Counter<"reason">;
  readonly #files: Counter<"kind">;
  readonly #snapshots: Counter;
  readonly #failures: Counter<"kind">;
  readonly #scans: Counter<"result">;
  readonly #duration: Histogram;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.#found = new Counter({
      name: "fsb_janitor_orphans_found_total",
      help: "Orphan containers found (counted in --dry-run too), by reason.",
      labelNames: ["reason"],
      registers: [this.registry],
    });
    this.#removed = new Counter({
      name: "fsb_janitor_orphans_removed_total",
      help: "Orphan containers removed (task killed, task, container and snapshot deleted), by reason.",
      labelNames: ["reason"],
      registers: [this.registry],
    });
    this.#files = new Counter({
      name: "fsb_janitor_files_removed_total",
      help: "Leftover files removed: log files past retention and bundle directories of failed creates.",
      labelNames: ["kind"],
      registers: [this.registry],
    });
    this.#snapshots = new Counter({
      name: "fsb_janitor_snapshots_removed_total",
      help: "Snapshots removed that carried our labels but had no container.",
      registers: [this.registry],
    });
    this.#failures = new Counter({
      name: "fsb_janitor_removal_failures_total",
      help: "Removals that failed and will be retried next scan, by kind (container, log, bundle, snapshot).",
      labelNames: ["kind"],
      registers: [this.registry],
    });
    this.#scans = new Counter({
      name: "fsb_janitor_scans_total",
      help: "Scans, by result; ownership_unavailable scans delete nothing.",
      labelNames: ["result"],
      registers: [this.registry],
    });
    this.#duration = new Histogram({
      name: "fsb_janitor_scan_duration_seconds",
      help: "Duration of a scan, removals included.",
      buckets: SCAN_BUCKETS,
      registers: [this.registry],
    });
  }

  orphanFound(reason: OrphanReason): void {
    this.#found.inc({ reason });
  }

  orphanRemoved(reason: OrphanReason): void {
    this.#removed.inc({ reason });
  }

  leftoverRemoved(kind: LeftoverKind): void {
    if (kind === "snapshot") this.#snapshots.inc();
    else this.#files.inc({ kind });
  }

  removalFailed(kind: "container" | LeftoverKind): void {
    this.#failures.inc({ kind });
  }

  scanned(result: ScanResult, seconds: number): void {
    this.#scans.inc({ result });
    this.#duration.observe(seconds);
  }
}

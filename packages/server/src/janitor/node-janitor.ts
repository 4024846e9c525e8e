/** One janitor pass over a node: find orphan containers and leftovers, re-check each with fresh reads, remove. */

import { rename, rm } from "node:fs/promises";
import path from "node:path";
import { ErrorCode, isFsbError, Labels } from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { ContainerdConnection } from "../containerd/connection.ts";
import { ContainerRuntime, type ContainerStatus } from "../containerd/container-runtime.ts";
import { classify, type OrphanReason, sameVerdict, type Verdict } from "./classify.ts";
import {
  classifyBundle,
  classifyLogFile,
  classifySnapshot,
  type LeftoverVerdict,
} from "./classify-leftovers.ts";
import type { JanitorMetrics, LeftoverKind, ScanResult } from "./janitor-metrics.ts";
import { listLogFiles, statLogFile } from "./log-files.ts";
import { type NetworkSweepOptions, sweepNetworks } from "./network-sweep.ts";
import { listOwnedSnapshots, statOwnedSnapshot } from "./owned-snapshots.ts";
import type { Ownership, OwnershipSource } from "./ownership.ts";
import { listTaskBundles, readTaskBundle } from "./task-bundles.ts";

/** Options of {@link NodeJanitor}. */
export interface NodeJanitorOptions {
  /** containerd, in the agents' namespace. */
  connection: ContainerdConnection;
  ownership: OwnershipSource;
  logger: Logger;
  metrics: JanitorMetrics;
  /** Nothing younger than this is removed: its object may simply not be written yet. */
  orphanTimeoutMs: number;
  /** The agents' sandbox log directory. */
  logDir: string;
  /** A removed sandbox's log file stays this long after its last write. */
  logRetentionMs: number;
  /** containerd's state directory (task bundles live under it). */
  containerdState: string;
  snapshotter?: string;
  /** Report only; remove nothing. */
  dryRun: boolean;
  /** Sweep the networks of agents that are gone (isolated sandboxes' namespaces, subnets); none when unset. */
  network?: NetworkSweepOptions;
  now?: () => number;
}

/**
 * What happened to one finding. `changed`: the fresh re-check disagreed, so it stays; `gone`: it
 * vanished meanwhile; `unverified`: ownership could not be re-read, so it stays; `failed`: the
 * removal failed and the next scan tries again.
 */
export type Outcome = "removed" | "dry-run" | "changed" | "gone" | "unverified" | "failed";

/** An orphan container or a leftover, and what the scan did about it. */
export type Finding =
  | { kind: "container"; id: string; reason: OrphanReason; outcome: Outcome }
  | { kind: LeftoverKind; id: string; path: string | undefined; outcome: Outcome };

/** The result of one {@link NodeJanitor.scan}. */
export interface ScanReport {
  /** `unavailable`: an ownership read failed; nothing was removed after it (nothing at all if it was the first). */
  ownership: "ok" | "unavailable";
  /** Every container of the namespace with its verdict (empty when ownership was unavailable). */
  containers: Array<{ id: string; verdict: Verdict }>;
  findings: Finding[];
}

const DEFAULT_SNAPSHOTTER = "overlayfs";

type OrphanVerdict = Extract<Verdict, { action: "orphan" }>;

/** What the leftover passes of one scan share. */
interface LeftoverScan {
  /** Containers that existed at the start of the scan and were not removed by it. */
  containerIds: ReadonlySet<string>;
  ownership: Ownership;
  now: number;
  recheck: Rechecker;
  findings: Finding[];
}

/**
 * Finds and removes what Fast Sandbox left on one node, in one containerd namespace. Every
 * removal is preceded by a fresh read of the thing itself and of ownership, and happens only if
 * the verdict is unchanged; if ownership cannot be read, the scan removes nothing at all.
 */
export class NodeJanitor {
  readonly #o: NodeJanitorOptions;
  readonly #runtime: ContainerRuntime;
  readonly #snapshotter: string;
  readonly #now: () => number;
  readonly #log: Logger;
  /** Scans never overlap: a scan called during another starts when that one ends. */
  #last: Promise<unknown> = Promise.resolve();

  constructor(options: NodeJanitorOptions) {
    this.#o = options;
    this.#snapshotter = options.snapshotter ?? DEFAULT_SNAPSHOTTER;
    this.#runtime = new ContainerRuntime(options.connection, { snapshotter: this.#snapshotter });
    this.#now = options.now ?? Date.now;
    this.#log = options.logger;
  }

  /** One full pass. Throws only if containerd itself cannot be read. */
  scan(signal?: AbortSignal): Promise<ScanReport> {
    const run = this.#last.then(() => this.#scan(signal));
    this.#last = run.catch(() => {});
    return run;
  }

  async #scan(signal: AbortSignal | undefined): Promise<ScanReport> {
    const started = performance.now();
    let result: ScanResult = "error";
    try {
      const report = await this.#scanOnce(signal);
      result = report.ownership === "ok" ? "ok" : "ownership_unavailable";
      return report;
    } finally {
      this.#o.metrics.scanned(result, (performance.now() - started) / 1000);
    }
  }

  async #scanOnce(signal: AbortSignal | undefined): Promise<ScanReport> {
    // Containers first, ownership second: an object made for a listed container is then visible.
    const containers = await this.#runtime.list({});
    let ownership: Ownership;
    try {
      ownership = await this.#o.ownership.read(signal);
    } catch (err) {
      this.#log.warn({ err }, "cannot read ownership; removing nothing this scan");
      return { ownership: "unavailable", containers: [], findings: [] };
    }
    const now = this.#now();
    const options = { orphanTimeoutMs: this.#o.orphanTimeoutMs };
    const verdicts = containers.map((c) => ({ container: c, verdict: classify(c, ownership, now, options) }));
    const report: ScanReport = {
      ownership: "ok",
      containers: verdicts.map(({ container, verdict }) => ({ id: container.id, verdict })),
      findings: [],
    };
    const recheck = new Rechecker(this.#o.ownership, signal);

    for (const { container, verdict } of verdicts) {
      if (verdict.action !== "orphan") continue;
      this.#o.metrics.orphanFound(verdict.reason);
      const outcome = await this.#removeContainer(container, verdict, recheck);
      report.findings.push({ kind: "container", id: container.id, reason: verdict.reason, outcome });
    }

    // Leftovers are judged against the containers that remain.
    const removed = new Set(
      report.findings.flatMap((f) => (f.outcome === "removed" || f.outcome === "gone" ? [f.id] : [])),
    );
    const containerIds = new Set(containers.map((c) => c.id).filter((id) => !removed.has(id)));
    const leftovers = { containerIds, ownership, now, recheck, findings: report.findings };
    await this.#leftoverPhase("snapshot", () => this.#snapshots(leftovers));
    await this.#leftoverPhase("log", () => this.#logFiles(leftovers));
    await this.#leftoverPhase("bundle", () => this.#bundles(leftovers));
    const remaining = containers.filter((c) => containerIds.has(c.id));
    await this.#leftoverPhase("netns", () => this.#networks(remaining, now, report.findings));
    // FIFOs: agents hand tasks file:// URIs (the sandbox's log file) for stdout and stderr, so neither
    // they nor containerd make FIFOs for our tasks; `<state>/fifo` only holds those of FIFO-based
    // clients (ctr, CRI), which nothing of ours can prove to be ours. There is nothing of ours to remove.
    if (recheck.unavailable) report.ownership = "unavailable";
    return report;
  }

  /** Runs one kind of leftover pass; a failure to list one kind (an unreadable directory) spares the others. */
  async #leftoverPhase(kind: LeftoverKind, phase: () => Promise<void>): Promise<void> {
    try {
      await phase();
    } catch (err) {
      this.#log.warn({ err, kind }, "could not look for leftovers of this kind");
    }
  }

  /** Namespaces and subnets of agents that are gone (network-sweep.ts). */
  async #networks(containers: readonly ContainerStatus[], now: number, findings: Finding[]): Promise<void> {
    if (!this.#o.network) return;
    const context = { now, graceMs: this.#o.orphanTimeoutMs, dryRun: this.#o.dryRun, logger: this.#log };
    const swept = await sweepNetworks(this.#o.network, containers, context);
    const outcome = this.#o.dryRun ? "dry-run" : "removed";
    for (const [kind, ids] of [
      ["netns", swept.namespaces],
      ["subnet", swept.subnets],
    ] as const) {
      for (const id of ids) {
        findings.push({ kind, id, path: undefined, outcome });
        if (!this.#o.dryRun) this.#o.metrics.leftoverRemoved(kind);
      }
    }
  }

  /** Snapshots with our labels for their own key and no container. */
  async #snapshots(scan: LeftoverScan): Promise<void> {
    const options = { orphanTimeoutMs: this.#o.orphanTimeoutMs };
    for (const snapshot of await listOwnedSnapshots(this.#o.connection, this.#snapshotter)) {
      if (classifySnapshot(snapshot, scan.containerIds, scan.now, options).action !== "remove") continue;
      scan.findings.push(
        await this.#removeLeftover("snapshot", snapshot.key, undefined, scan.recheck, async () => {
          const fresh = await statOwnedSnapshot(this.#o.connection, this.#snapshotter, snapshot.key);
          if (!fresh) return "gone";
          return classifySnapshot(fresh, await this.#liveIds(snapshot.key), this.#now(), options);
        }),
      );
    }
  }

  /** Log files past retention with no container and no object pointing at their sandbox. */
  async #logFiles(scan: LeftoverScan): Promise<void> {
    const retention = { retentionMs: this.#o.logRetentionMs };
    for (const file of await listLogFiles(this.#o.logDir)) {
      if (classifyLogFile(file, scan.containerIds, scan.ownership, scan.now, retention).action !== "remove") {
        continue;
      }
      scan.findings.push(
        await this.#removeLeftover("log", file.sandboxId, file.path, scan.recheck, async () => {
          const fresh = await statLogFile(file.path, file.sandboxId);
          if (!fresh) return "gone";
          const owners = await scan.recheck.batchOwnership();
          if (!owners) return "unverified";
          const live = await this.#liveIds(file.sandboxId);
          return classifyLogFile(fresh, live, owners, this.#now(), retention);
        }),
      );
    }
  }

  /** Bundle directories of failed creates: provably ours, no container, nothing mounted. */
  async #bundles(scan: LeftoverScan): Promise<void> {
    const options = { orphanTimeoutMs: this.#o.orphanTimeoutMs };
    const { containerdState } = this.#o;
    const namespace = this.#o.connection.namespace;
    for (const bundle of await listTaskBundles(containerdState, namespace)) {
      if (classifyBundle(bundle, scan.containerIds, scan.now, options).action !== "remove") continue;
      scan.findings.push(
        await this.#removeLeftover("bundle", bundle.id, bundle.path, scan.recheck, async () => {
          const fresh = await readTaskBundle(containerdState, namespace, bundle.id);
          if (!fresh) return "gone";
          return classifyBundle(fresh, await this.#liveIds(bundle.id), this.#now(), options);
        }),
      );
    }
  }

  /**
   * Re-inspects the container and re-reads ownership; removes it (SIGKILL, task, container,
   * snapshot) only if the verdict is the same, then its log file unless an object still points at it.
   */
  async #removeContainer(
    container: ContainerStatus,
    verdict: OrphanVerdict,
    recheck: Rechecker,
  ): Promise<Outcome> {
    const { id } = container;
    const log = this.#log.child({ sandboxId: id, reason: verdict.reason });
    if (this.#o.dryRun) {
      log.info("orphan container found (dry run: left in place)");
      return "dry-run";
    }
    if (recheck.unavailable) return "unverified";
    try {
      const fresh = await this.#runtime.inspect(id).catch((err: unknown) => {
        if (isFsbError(err, ErrorCode.NotFound)) return undefined;
        throw err;
      });
      if (!fresh) return "gone";
      const owners = await recheck.freshOwnership();
      if (!owners) return "unverified";
      const now = this.#now();
      const again = classify(fresh, owners, now, { orphanTimeoutMs: this.#o.orphanTimeoutMs });
      if (!sameVerdict(verdict, again)) {
        log.info({ now: again.reason }, "orphan no longer one on a fresh read; keeping it");
        return "changed";
      }
      await this.#runtime.delete(id, { gracePeriodMs: 0 });
      this.#o.metrics.orphanRemoved(verdict.reason);
      log.info(
        { name: fresh.labels[Labels.Name], agent: fresh.labels[Labels.Agent] },
        "orphan container removed",
      );
      await this.#removeLogOf(fresh, owners);
      return "removed";
    } catch (err) {
      this.#o.metrics.removalFailed("container");
      log.warn({ err }, "orphan container removal failed; next scan retries");
      return "failed";
    }
  }

  /**
   * The log path label names the log; it goes with the container unless an object still points
   * at this sandbox (a Lost sandbox keeps its log until deleted). Only a file in our log dir named
   * after the container is removed here; anything else waits for the retention pass. A kept log of
   * a taken prewarmed container (named after its container id) is renamed after its sandbox, as the
   * agent does on a delete that keeps the log, so the retention pass and the agent find it by sandbox id.
   */
  async #removeLogOf(container: ContainerStatus, owners: Ownership): Promise<void> {
    const logPath = container.labels[Labels.LogPath] ?? "";
    const expected = path.join(this.#o.logDir, `${container.id}.log`);
    // classify proved the sandbox-id label a DNS label, so it names a file in the log dir.
    const sandboxId = container.labels[Labels.SandboxId] ?? container.id;
    if (logPath !== expected) return;
    try {
      if (!owners.ownerOfContainer(sandboxId)) await rm(logPath, { force: true });
      else if (sandboxId !== container.id) {
        await rename(logPath, path.join(this.#o.logDir, `${sandboxId}.log`)).catch(
          (err: NodeJS.ErrnoException) => {
            if (err.code !== "ENOENT") throw err;
          },
        );
      }
    } catch (err) {
      this.#o.metrics.removalFailed("log");
      this.#log.warn(
        { err, sandboxId, containerId: container.id },
        "could not remove or keep an orphan's log file",
      );
    }
  }

  /** Re-checks one leftover with `fresh` and removes it if the verdict is still "remove". */
  async #removeLeftover(
    kind: LeftoverKind,
    id: string,
    filePath: string | undefined,
    recheck: Rechecker,
    fresh: () => Promise<LeftoverVerdict | "gone" | "unverified">,
  ): Promise<Finding> {
    const finding = (outcome: Outcome): Finding => ({ kind, id, path: filePath, outcome });
    const log = this.#log.child({ kind, sandboxId: id, ...(filePath ? { path: filePath } : {}) });
    if (this.#o.dryRun) {
      log.info("leftover found (dry run: left in place)");
      return finding("dry-run");
    }
    if (recheck.unavailable) return finding("unverified");
    try {
      const verdict = await fresh();
      if (verdict === "gone" || verdict === "unverified") return finding(verdict);
      if (verdict.action !== "remove") {
        log.info({ now: verdict.reason }, "leftover no longer one on a fresh read; keeping it");
        return finding("changed");
      }
      if (kind === "snapshot") await this.#runtime.removeSnapshot(id);
      else await rm(filePath!, { recursive: kind === "bundle", force: true });
      this.#o.metrics.leftoverRemoved(kind);
      log.info("leftover removed");
      return finding("removed");
    } catch (err) {
      this.#o.metrics.removalFailed(kind);
      log.warn({ err }, "leftover removal failed; next scan retries");
      return finding("failed");
    }
  }

  /** `{id}` if a container of that id exists now, else empty: the fresh container check of a leftover. */
  async #liveIds(id: string): Promise<Set<string>> {
    try {
      await this.#runtime.inspect(id);
      return new Set([id]);
    } catch (err) {
      if (isFsbError(err, ErrorCode.NotFound)) return new Set();
      throw err;
    }
  }
}

/**
 * Fresh ownership reads for re-checks. Each orphan container gets its own read; log files share
 * one read taken after the first verdicts (there may be many, and a log file cannot become owned
 * again once its container is gone). After a failed read nothing more is removed in this scan.
 */
class Rechecker {
  readonly #source: OwnershipSource;
  readonly #signal: AbortSignal | undefined;
  #batch: Ownership | undefined;
  unavailable = false;

  constructor(source: OwnershipSource, signal: AbortSignal | undefined) {
    this.#source = source;
    this.#signal = signal;
  }

  /** A new read, or undefined (and {@link unavailable}) if it failed. */
  async freshOwnership(): Promise<Ownership | undefined> {
    if (this.unavailable) return undefined;
    try {
      return await this.#source.read(this.#signal);
    } catch {
      this.unavailable = true;
      return undefined;
    }
  }

  /** One read shared by the rest of the scan's re-checks, or undefined if it failed. */
  async batchOwnership(): Promise<Ownership | undefined> {
    this.#batch ??= await this.freshOwnership();
    return this.#batch;
  }
}

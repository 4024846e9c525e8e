/** The agent's sandboxes: slots, idempotent create and delete, adoption after a restart. */
import { mkdir, rm } from "node:fs/promises";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { ContainerRuntime, ContainerStatus, TaskEvent } from "../containerd/container-runtime.ts";
import type { ImageResolver, ResolvedImage } from "../containerd/image-resolver.ts";
import type { AgentConfig } from "./agent-config.ts";
import type { AgentMetrics } from "./agent-metrics.ts";
import { type AgentNetworks, allowTaken, createIsolated, takenNetwork } from "./agent-networks.ts";
import { buildSandboxOciSpec, type SandboxNetworking, specContextOf } from "./build-oci-spec.ts";
import type { ImageCatalog } from "./image-catalog.ts";
import { gvisorPortsError, listeningPorts, portInUseError, procDirOf } from "./port-conflicts.ts";
import type { PrewarmPool } from "./prewarm-pool.ts";
import { prewarmMatchKey, type WarmContainer } from "./prewarm-template.ts";
import { adoptionVerdict } from "./sandbox-adoption.ts";
import { removeSnapshotsWithoutContainer, removeUntrackedSandbox } from "./sandbox-cleanup.ts";
import { keptLogPath, settleLog } from "./sandbox-logs.ts";
import {
  type CreatedSandbox,
  createdView,
  type SandboxRecord,
  type SandboxStatus,
} from "./sandbox-record.ts";
import { SandboxRecords } from "./sandbox-records.ts";
import {
  type AgentSandboxPhase,
  type AgentSandboxSpec,
  asRequestError,
  sandboxLabels,
  specHash,
  takenPrewarmLabels,
} from "./sandbox-spec.ts";
import type { SandboxTools } from "./sandbox-tools.ts";
import type { StatusRevision } from "./status-revision.ts";
import type { TaskCheck } from "./task-resync.ts";

export type { CreatedSandbox, SandboxStatus } from "./sandbox-record.ts";

/** Options of {@link SandboxManager.delete}. */
export interface DeleteSandboxOptions {
  /** SIGTERM→SIGKILL grace; the agent's default when unset. */
  gracePeriodSeconds?: number | undefined;
  /** Keep the log file after the container is gone (the controller does this for failed sandboxes). */
  keepLog?: boolean;
}

/** Options of {@link SandboxManager}. */
export interface SandboxManagerOptions {
  /** The node's busybox that every sandbox gets at /.fsb/busybox (none when absent). */
  tools?: SandboxTools;
  config: AgentConfig;
  runtime: ContainerRuntime;
  images: ImageResolver;
  logger: Logger;
  metrics: AgentMetrics;
  prewarm: PrewarmPool;
  /** The images the status reports; a create tells it about the image it found. */
  catalog: ImageCatalog;
  revision: StatusRevision;
  /** Isolated networking, opened on first need. */
  networks: AgentNetworks;
}

/**
 * Owns this agent's slots. Every slot is taken synchronously when a create is accepted, so
 * concurrent creates can never exceed capacity, and is freed only when the container is gone.
 * Status is read from the records ({@link SandboxRecords}) and never waits on containerd.
 */
export class SandboxManager {
  readonly #config: AgentConfig;
  readonly #tools: SandboxTools | undefined;
  readonly #runtime: ContainerRuntime;
  readonly #images: ImageResolver;
  readonly #log: Logger;
  readonly #metrics: AgentMetrics;
  readonly #prewarm: PrewarmPool;
  readonly #catalog: ImageCatalog;
  readonly #records: SandboxRecords;
  readonly #networks: AgentNetworks;

  constructor(options: SandboxManagerOptions) {
    this.#networks = options.networks;
    this.#config = options.config;
    this.#tools = options.tools;
    this.#runtime = options.runtime;
    this.#images = options.images;
    this.#log = options.logger;
    this.#metrics = options.metrics;
    this.#prewarm = options.prewarm;
    this.#catalog = options.catalog;
    this.#records = new SandboxRecords({
      advertiseAddress: options.config.advertiseAddress,
      revision: options.revision,
      logger: options.logger,
    });
  }

  get capacity(): number {
    return this.#config.capacity;
  }

  get allocated(): number {
    return this.#records.size;
  }

  /**
   * Rebuilds state from the containers this agent labelled, so a restarted agent carries on with
   * running sandboxes and their logs, and with its prewarmed containers (see {@link adoptionVerdict};
   * the anchor is the caller's). Half-made sandboxes are removed: their creates never answered.
   */
  async adopt(containers: readonly ContainerStatus[]): Promise<void> {
    await mkdir(this.#config.logDir, { recursive: true });
    for (const container of containers) {
      const verdict = adoptionVerdict(container);
      switch (verdict.action) {
        case "track":
          this.#records.track(verdict.record);
          break;
        case "prewarm":
          await this.#prewarm.adopt(container);
          break;
        case "remove":
          this.#log.info(
            { sandboxId: verdict.sandboxId, containerId: container.id },
            "removing half-created sandbox left by a previous run",
          );
          await this.#runtime.delete(container.id, { gracePeriodMs: 0 });
          await rm(verdict.logPath, { force: true });
          break;
        case "leave":
          this.#log.warn(
            { containerId: container.id },
            "container has incomplete labels; leaving it to the janitor",
          );
          break;
        case "anchor":
          break;
      }
    }
    await removeSnapshotsWithoutContainer(this.#runtime, this.#config.agentId, containers, this.#log);
    const identities = [...this.#records.values()].map((r) => r.identity);
    await this.#networks.restore(identities, this.#prewarm.readyNetworks());
    this.#log.info(
      { adopted: this.#records.size, prewarmed: this.#prewarm.readyCount },
      "adopted sandboxes from containerd",
    );
  }

  /**
   * Creates a sandbox, or returns the existing one if the same id was created with the same spec.
   * A spec that matches a prewarm template takes a ready prewarmed container when there is one.
   */
  async create(spec: AgentSandboxSpec): Promise<CreatedSandbox> {
    const hash = specHash(spec);
    const existing = this.#records.get(spec.sandboxId);
    if (existing) return this.#repeatCreate(existing, hash);
    const unreachable = gvisorPortsError(
      this.#config.runtime,
      spec.network?.mode ?? this.#config.sandboxNetwork.defaultMode,
      spec.exposedPorts,
    );
    if (unreachable) throw unreachable;
    if (this.#records.size >= this.#config.capacity) {
      throw new FsbError(
        ErrorCode.ResourceExhausted,
        `agent ${this.#config.agentId} is full: ${this.#records.size}/${this.#config.capacity} sandboxes`,
      );
    }
    const record: SandboxRecord = {
      identity: {
        sandboxId: spec.sandboxId,
        containerId: spec.sandboxId,
        name: spec.name,
        namespace: spec.namespace,
        uid: spec.uid,
        pool: spec.pool ?? this.#config.pool,
        image: spec.image,
        exposedPorts: spec.exposedPorts,
        specHash: hash,
        createdAt: new Date(),
        logPath: this.logPathOf(spec.sandboxId),
        network: { mode: spec.network?.mode ?? this.#config.sandboxNetwork.defaultMode },
      },
      phase: "Creating",
      taskState: "unknown",
      pid: 0,
      exitCode: undefined,
      exitedAt: undefined,
      oomKilled: false,
    };
    // The slot is taken here, before the first await.
    this.#records.track(record);
    const holds = [this.#prewarm.hold(), this.#networks.hold()]; // refills wait: they share the CPU
    const started = performance.now();
    record.created = this.#createSandbox(spec, record);
    try {
      await record.created;
      this.#metrics.observeCreate("ok", (performance.now() - started) / 1000);
    } catch (err) {
      this.#records.untrack(record);
      this.#metrics.observeCreate("error", (performance.now() - started) / 1000);
      throw err;
    } finally {
      for (const release of holds) release();
    }
    return createdView(record, this.#config.advertiseAddress);
  }

  /**
   * Deletes a sandbox gracefully. Unknown ids succeed, so a retried delete is harmless; a delete
   * during the create of the same id waits for the create, then removes what it made. With
   * `keepLog` the log file stays (readable through {@link logPathOf}) until a later delete without it.
   */
  async delete(sandboxId: string, options: DeleteSandboxOptions = {}): Promise<void> {
    const { gracePeriodSeconds, keepLog = false } = options;
    const record = this.#records.get(sandboxId);
    if (!record) {
      return removeUntrackedSandbox(sandboxId, {
        runtime: this.#runtime,
        agentId: this.#config.agentId,
        logDir: this.#config.logDir,
        gracePeriodMs: this.#graceMs(gracePeriodSeconds),
        keepLog,
      });
    }
    if (record.deleted) return record.deleted;
    record.deleted = (async () => {
      await record.created?.catch(() => {});
      if (this.#records.get(sandboxId) !== record) return;
      this.#records.setPhase(record, "Deleting");
      const started = performance.now();
      const { containerId, logPath, network } = record.identity;
      await this.#runtime.delete(containerId, { gracePeriodMs: this.#graceMs(gracePeriodSeconds) });
      if (network.address !== undefined) await this.#networks.releaseQuietly(network.address, sandboxId);
      await settleLog(this.#config.logDir, sandboxId, logPath, keepLog);
      this.#records.untrack(record);
      this.#records.notifyExit(sandboxId);
      this.#metrics.observeDelete((performance.now() - started) / 1000);
      this.#log.info({ sandboxId, containerId }, "sandbox deleted");
    })();
    try {
      await record.deleted;
    } catch (err) {
      record.deleted = undefined;
      this.#records.setPhase(record, record.exitCode === undefined ? "Running" : "Exited");
      throw err;
    }
  }

  /** Every sandbox as the agent knows it; answers from memory, never from containerd. */
  list(): SandboxStatus[] {
    return this.#records.list();
  }

  /** One sandbox, or undefined if the agent does not have it. */
  get(sandboxId: string): { containerId: string; logPath: string; phase: AgentSandboxPhase } | undefined {
    const record = this.#records.get(sandboxId);
    return (
      record && {
        containerId: record.identity.containerId,
        logPath: record.identity.logPath,
        phase: record.phase,
      }
    );
  }

  /**
   * Where a sandbox's log is kept once its container is gone (and, for a sandbox that did not take a
   * prewarmed container, while it runs); the id is a DNS label, so it cannot escape the log dir.
   */
  logPathOf(sandboxId: string): string {
    return keptLogPath(this.#config.logDir, sandboxId);
  }

  /** Calls `listener` with a sandbox id whenever its process exits or the sandbox is deleted. */
  onExit(listener: (sandboxId: string) => void): () => void {
    return this.#records.onExit(listener);
  }

  /** Applies a task event; false if the container is no sandbox of this agent. */
  handleEvent(event: TaskEvent): boolean {
    return this.#records.handleEvent(event);
  }

  /** The tasks a resync should read for the sandboxes (see {@link SandboxRecords.taskChecks}). */
  taskChecks(): TaskCheck[] {
    return this.#records.taskChecks();
  }

  /** Resolves once no create or delete is in flight, so shutdown never abandons a half-made container. */
  async drain(): Promise<void> {
    const pending = [...this.#records.values()].flatMap((r) => [r.created, r.deleted]).filter(Boolean);
    await Promise.allSettled(pending);
  }

  /**
   * The image first (cached, so about free), and the exposed ports free in the agent's network when
   * the sandbox shares it (mode agent); then a prewarmed container of its digest, else a new one.
   */
  async #createSandbox(spec: AgentSandboxSpec, record: SandboxRecord): Promise<void> {
    const { mode } = record.identity.network;
    if (mode === "agent") await this.#checkPortsFree(spec.exposedPorts);
    const image = await this.#images.resolve(spec.image).catch((err: unknown) => {
      if (err instanceof FsbError && err.code === ErrorCode.NotFound) {
        throw new FsbError(ErrorCode.FailedPrecondition, err.message, { cause: err, field: "sandbox.image" });
      }
      throw err;
    });
    this.#catalog.noteImage(image.name);
    // Prewarmed containers are made in the agent's default mode: only a create in that mode takes one.
    const key = mode === this.#config.sandboxNetwork.defaultMode ? prewarmMatchKey(spec) : undefined;
    const warm = key === undefined ? undefined : this.#prewarm.take(key, image.digest);
    if (warm && (await this.#startPrewarmed(spec, record, warm))) return;
    if (mode === "isolated") {
      return createIsolated(spec, record, {
        networks: this.#networks,
        runtime: this.#runtime,
        makeContainer: (network) => this.#createContainer(spec, record, image, network),
      });
    }
    await this.#createContainer(spec, record, image, { mode });
  }

  async #createContainer(
    spec: AgentSandboxSpec,
    record: SandboxRecord,
    image: ResolvedImage,
    network: SandboxNetworking = { mode: "agent" },
  ): Promise<void> {
    const { identity } = record;
    try {
      // A log left by an earlier sandbox of the same id must not show up in this one's output.
      await rm(identity.logPath, { force: true });
      const oci = buildSandboxOciSpec(
        spec,
        image.config,
        specContextOf(this.#config, this.#tools?.busyboxPath),
        network,
      );
      const { pid } = await this.#runtime.create({
        id: identity.containerId,
        image,
        spec: oci,
        labels: sandboxLabels(spec, {
          agentId: this.#config.agentId,
          pool: identity.pool,
          createdAt: identity.createdAt,
          logPath: identity.logPath,
          network: identity.network,
        }),
        logPath: identity.logPath,
        ...this.#runtimeBinary(),
      });
      this.#records.started(record, pid);
      this.#log.info({ sandboxId: spec.sandboxId, name: spec.name, pid }, "sandbox started");
    } catch (err) {
      await rm(identity.logPath, { force: true });
      throw asRequestError(err);
    }
  }

  /**
   * Applies the sandbox's egress rules and starts a prewarmed container, relabelling it meanwhile.
   * Returns false, having removed the container, if any failed (its task died meanwhile, say): the
   * caller then makes a container the normal way. A crash between them leaves a running container
   * still labelled prewarm or a relabelled one never started; adoption removes both, and the create
   * never answered.
   */
  async #startPrewarmed(
    spec: AgentSandboxSpec,
    record: SandboxRecord,
    warm: WarmContainer,
  ): Promise<boolean> {
    const { identity } = record;
    const own = { containerId: identity.containerId, logPath: identity.logPath };
    this.#records.moveTo(record, warm);
    identity.network = takenNetwork(spec, warm, this.#networks);
    const labels = takenPrewarmLabels(spec, {
      agentId: this.#config.agentId,
      pool: identity.pool,
      createdAt: identity.createdAt,
      logPath: warm.logPath,
      containerId: warm.containerId,
      network: identity.network,
    });
    const [started, ...rest] = await Promise.allSettled([
      // Its rules before its process starts (nothing to change with the defaults: createIsolated).
      allowTaken(this.#networks, identity).then(() => this.#runtime.start(warm.containerId)),
      this.#runtime.setLabels(warm.containerId, labels),
    ]);
    const failed = [started, ...rest].find((r) => r.status === "rejected");
    if (started.status === "fulfilled" && !failed) {
      this.#records.started(record, started.value.pid);
      this.#log.info(
        { sandboxId: spec.sandboxId, name: spec.name, containerId: warm.containerId, pid: record.pid },
        "sandbox started from a prewarmed container",
      );
      return true;
    }
    this.#log.warn(
      {
        err: (failed as PromiseRejectedResult).reason,
        sandboxId: spec.sandboxId,
        containerId: warm.containerId,
      },
      "prewarmed container failed to start; creating the sandbox anew",
    );
    // Unmapped first: the exit of the container being removed is not this sandbox's.
    this.#records.forgetContainer(warm.containerId);
    await this.#runtime.delete(warm.containerId, { gracePeriodMs: 0 });
    await rm(warm.logPath, { force: true });
    await this.#networks.release(warm.network);
    identity.network = { mode: warm.network.mode };
    this.#records.moveTo(record, own, { freshTask: true });
    return false;
  }

  /** A declared port something else already listens on would fail the sandbox's bind: refuse it now. */
  async #checkPortsFree(exposedPorts: readonly number[]): Promise<void> {
    const procDir = procDirOf(this.#config.network);
    if (exposedPorts.length === 0 || procDir === undefined) return;
    const inUse = portInUseError(exposedPorts, await listeningPorts(procDir), this.#config.nodeName);
    if (inUse) throw inUse;
  }

  #runtimeBinary(): { runtimeBinary?: string } {
    return this.#config.runtime === "gvisor" && this.#config.runscBinary
      ? { runtimeBinary: this.#config.runscBinary }
      : {};
  }

  async #repeatCreate(existing: SandboxRecord, hash: string): Promise<CreatedSandbox> {
    const id = existing.identity.sandboxId;
    if (existing.identity.specHash !== hash) {
      throw new FsbError(ErrorCode.AlreadyExists, `sandbox ${id} already exists with a different spec`);
    }
    if (existing.deleted) {
      throw new FsbError(
        ErrorCode.FailedPrecondition,
        `sandbox ${id} is being deleted; retry once it is gone`,
      );
    }
    await existing.created;
    return createdView(existing, this.#config.advertiseAddress);
  }

  #graceMs(gracePeriodSeconds: number | undefined): number {
    return (gracePeriodSeconds ?? this.#config.defaultGracePeriodSeconds) * 1000;
  }
}

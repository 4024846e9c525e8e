/** The agent's sandboxes: slots, idempotent create and delete, live status, adoption after a restart. */
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { ErrorCode, FsbError, isManagedContainer, Labels, managedByValue } from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { ContainerRuntime, ContainerStatus, TaskExitEvent } from "../containerd/container-runtime.ts";
import type { ImageResolver, ResolvedImage } from "../containerd/image-resolver.ts";
import type { AgentConfig } from "./agent-config.ts";
import type { AgentMetrics } from "./agent-metrics.ts";
import { buildSandboxOciSpec, specContextOf } from "./build-oci-spec.ts";
import type { PrewarmPool } from "./prewarm-pool.ts";
import { prewarmMatchKey, type WarmContainer } from "./prewarm-template.ts";
import { keptLogPath, settleLog } from "./sandbox-logs.ts";
import {
  type CreatedSandbox,
  createdView,
  type SandboxRecord,
  type SandboxStatus,
  stateFromTask,
  statusOf,
} from "./sandbox-record.ts";
import {
  type AgentSandboxPhase,
  type AgentSandboxSpec,
  identityFromLabels,
  sandboxLabels,
  specHash,
  takenPrewarmLabels,
} from "./sandbox-spec.ts";

export type { CreatedSandbox, SandboxStatus } from "./sandbox-record.ts";

/** Options of {@link SandboxManager.delete}. */
export interface DeleteSandboxOptions {
  /** SIGTERM→SIGKILL grace; the agent's default when unset. */
  gracePeriodSeconds?: number | undefined;
  /** Keep the log file after the container is gone (the controller does this for failed sandboxes). */
  keepLog?: boolean;
}

/** Waits between attempts to re-subscribe to containerd's exit events. */
const RESUBSCRIBE_DELAY_MS = 1000;

/** Options of {@link SandboxManager}. */
export interface SandboxManagerOptions {
  config: AgentConfig;
  runtime: ContainerRuntime;
  images: ImageResolver;
  logger: Logger;
  metrics: AgentMetrics;
  prewarm: PrewarmPool;
}

/**
 * Owns this agent's slots. Every slot is taken synchronously when a create is accepted, so
 * concurrent creates can never exceed capacity, and is freed only when the container is gone.
 */
export class SandboxManager {
  readonly #config: AgentConfig;
  readonly #runtime: ContainerRuntime;
  readonly #images: ImageResolver;
  readonly #log: Logger;
  readonly #metrics: AgentMetrics;
  readonly #prewarm: PrewarmPool;
  /** By sandbox id. */
  readonly #records = new Map<string, SandboxRecord>();
  /**
   * Container id → sandbox id. They differ for a sandbox that took a prewarmed container (ids cannot
   * be renamed), so everything that comes from containerd by container id (exits, live state) goes
   * through this map.
   */
  readonly #sandboxOfContainer = new Map<string, string>();
  readonly #exitListeners = new Set<(id: string) => void>();

  constructor(options: SandboxManagerOptions) {
    this.#config = options.config;
    this.#runtime = options.runtime;
    this.#images = options.images;
    this.#log = options.logger;
    this.#metrics = options.metrics;
    this.#prewarm = options.prewarm;
  }

  get capacity(): number {
    return this.#config.capacity;
  }

  get allocated(): number {
    return this.#records.size;
  }

  /**
   * Rebuilds state from the containers this agent labelled, so a restarted agent carries on with
   * running sandboxes and their logs, and with its prewarmed containers. A sandbox container that a
   * crash mid-create left without a task, or with a task never started, is removed: its create never
   * answered. (That includes a prewarmed container relabelled for a create that did not finish.)
   */
  async adopt(): Promise<void> {
    await mkdir(this.#config.logDir, { recursive: true });
    const containers = await this.#runtime.list({
      [Labels.ManagedBy]: managedByValue,
      [Labels.Agent]: this.#config.agentId,
    });
    for (const container of containers) {
      if (container.labels[Labels.Prewarm] === "true") {
        await this.#prewarm.adopt(container);
        continue;
      }
      const identity = identityFromLabels(container.id, container.labels);
      if (!identity) {
        this.#log.warn(
          { containerId: container.id },
          "container has incomplete labels; leaving it to the janitor",
        );
        continue;
      }
      if (container.task.state === "missing" || container.task.state === "created") {
        this.#log.info(
          { sandboxId: identity.sandboxId, containerId: container.id },
          "removing half-created sandbox left by a previous run",
        );
        await this.#runtime.delete(container.id, { gracePeriodMs: 0 });
        await rm(identity.logPath, { force: true });
        continue;
      }
      this.#track({ identity, ...stateFromTask(container) });
    }
    // A crash between Snapshots.Prepare and Containers.Create leaves a snapshot with no container.
    const containerIds = new Set(containers.map((c) => c.id));
    const snapshots = await this.#runtime.listSnapshots({
      [Labels.ManagedBy]: managedByValue,
      [Labels.Agent]: this.#config.agentId,
    });
    for (const key of snapshots.filter((k) => !containerIds.has(k))) {
      this.#log.info({ containerId: key }, "removing a snapshot left without its container");
      await this.#runtime.removeSnapshot(key);
    }
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
    if (this.#records.size >= this.#config.capacity) {
      throw new FsbError(
        ErrorCode.ResourceExhausted,
        `agent ${this.#config.agentId} is full: ${this.#records.size}/${this.#config.capacity} sandboxes`,
      );
    }
    const createdAt = new Date();
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
        createdAt,
        logPath: this.logPathOf(spec.sandboxId),
      },
      phase: "Creating",
      pid: 0,
      exitCode: undefined,
      exitedAt: undefined,
    };
    // The slot is taken here, before the first await.
    this.#track(record);
    const release = this.#prewarm.hold();
    const started = performance.now();
    record.created = this.#createSandbox(spec, record);
    try {
      await record.created;
      this.#metrics.observeCreate("ok", (performance.now() - started) / 1000);
    } catch (err) {
      this.#untrack(record);
      this.#metrics.observeCreate("error", (performance.now() - started) / 1000);
      throw err;
    } finally {
      release();
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
    if (!record) return this.#deleteUntracked(sandboxId, gracePeriodSeconds, keepLog);
    if (record.deleted) return record.deleted;
    record.deleted = (async () => {
      await record.created?.catch(() => {});
      if (this.#records.get(sandboxId) !== record) return;
      record.phase = "Deleting";
      const started = performance.now();
      const { containerId, logPath } = record.identity;
      await this.#runtime.delete(containerId, { gracePeriodMs: this.#graceMs(gracePeriodSeconds) });
      await settleLog(this.#config.logDir, sandboxId, logPath, keepLog);
      this.#untrack(record);
      this.#metrics.observeDelete((performance.now() - started) / 1000);
      this.#log.info({ sandboxId, containerId }, "sandbox deleted");
    })();
    try {
      await record.deleted;
    } catch (err) {
      record.deleted = undefined;
      record.phase = record.exitCode === undefined ? "Running" : "Exited";
      throw err;
    }
  }

  /** Every sandbox with its live task state from containerd. */
  async list(): Promise<SandboxStatus[]> {
    const live = await this.#runtime.list({
      [Labels.ManagedBy]: managedByValue,
      [Labels.Agent]: this.#config.agentId,
    });
    const liveById = new Map(live.map((c) => [c.id, c]));
    return [...this.#records.values()].map((record) =>
      statusOf(record, liveById.get(record.identity.containerId), this.#config.advertiseAddress),
    );
  }

  /** One sandbox, or undefined if the agent does not have it. */
  get(sandboxId: string): { logPath: string; phase: AgentSandboxPhase } | undefined {
    const record = this.#records.get(sandboxId);
    return record && { logPath: record.identity.logPath, phase: record.phase };
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
    this.#exitListeners.add(listener);
    return () => this.#exitListeners.delete(listener);
  }

  /** Follows containerd's exit events until `signal` aborts, re-subscribing (and re-syncing) after a break. */
  async watchExits(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.#resync();
        for await (const exit of this.#runtime.taskExits(signal)) this.#recordExit(exit);
      } catch (err) {
        if (signal.aborted) return;
        this.#log.warn({ err }, "exit event stream broke; re-subscribing");
        await new Promise((resolve) => setTimeout(resolve, RESUBSCRIBE_DELAY_MS));
      }
    }
  }

  /** Resolves once no create or delete is in flight, so shutdown never abandons a half-made container. */
  async drain(): Promise<void> {
    const pending = [...this.#records.values()].flatMap((r) => [r.created, r.deleted]).filter(Boolean);
    await Promise.allSettled(pending);
  }

  /** The image first (cached, so about free), then a prewarmed container of its digest, else a new one. */
  async #createSandbox(spec: AgentSandboxSpec, record: SandboxRecord): Promise<void> {
    const image = await this.#images.resolve(spec.image).catch((err: unknown) => {
      if (err instanceof FsbError && err.code === ErrorCode.NotFound) {
        throw new FsbError(ErrorCode.FailedPrecondition, err.message, { cause: err, field: "sandbox.image" });
      }
      throw err;
    });
    const key = prewarmMatchKey(spec);
    const warm = key === undefined ? undefined : this.#prewarm.take(key, image.digest);
    if (warm && (await this.#startPrewarmed(spec, record, warm))) return;
    await this.#createContainer(spec, record, image);
  }

  async #createContainer(spec: AgentSandboxSpec, record: SandboxRecord, image: ResolvedImage): Promise<void> {
    const { identity } = record;
    try {
      // A log left by an earlier sandbox of the same id must not show up in this one's output.
      await rm(identity.logPath, { force: true });
      const oci = buildSandboxOciSpec(spec, image.config, specContextOf(this.#config));
      const { pid } = await this.#runtime.create({
        id: identity.containerId,
        image,
        spec: oci,
        labels: sandboxLabels(spec, {
          agentId: this.#config.agentId,
          pool: identity.pool,
          createdAt: identity.createdAt,
          logPath: identity.logPath,
        }),
        logPath: identity.logPath,
        ...this.#runtimeBinary(),
      });
      record.pid = pid;
      // A fast process may already have exited (its event arrives before create returns).
      record.phase = record.exitCode === undefined ? "Running" : "Exited";
      this.#log.info({ sandboxId: spec.sandboxId, name: spec.name, pid }, "sandbox started");
    } catch (err) {
      await rm(identity.logPath, { force: true });
      throw asRequestError(err);
    }
  }

  /**
   * Starts a prewarmed container for this sandbox and relabels it as the sandbox, both at once (one
   * round trip of latency). Returns false, having removed the container, if either failed (its
   * task died meanwhile, say): the caller then makes a container the normal way. A crash between
   * the two leaves either a running container still labelled prewarm or a relabelled one never
   * started; adoption removes both, and the create never answered.
   */
  async #startPrewarmed(
    spec: AgentSandboxSpec,
    record: SandboxRecord,
    warm: WarmContainer,
  ): Promise<boolean> {
    const { identity } = record;
    const own = { containerId: identity.containerId, logPath: identity.logPath };
    // Switched before the first await, so the exit of a fast process maps to this sandbox.
    this.#sandboxOfContainer.delete(own.containerId);
    identity.containerId = warm.containerId;
    identity.logPath = warm.logPath;
    this.#sandboxOfContainer.set(warm.containerId, spec.sandboxId);
    const labels = takenPrewarmLabels(spec, {
      agentId: this.#config.agentId,
      pool: identity.pool,
      createdAt: identity.createdAt,
      logPath: warm.logPath,
      containerId: warm.containerId,
    });
    const [started, relabelled] = await Promise.allSettled([
      this.#runtime.start(warm.containerId),
      this.#runtime.setLabels(warm.containerId, labels),
    ]);
    if (started.status === "fulfilled" && relabelled.status === "fulfilled") {
      record.pid = started.value.pid;
      record.phase = record.exitCode === undefined ? "Running" : "Exited";
      this.#log.info(
        { sandboxId: spec.sandboxId, name: spec.name, containerId: warm.containerId, pid: record.pid },
        "sandbox started from a prewarmed container",
      );
      return true;
    }
    const err = started.status === "rejected" ? started.reason : (relabelled as PromiseRejectedResult).reason;
    this.#log.warn(
      { err, sandboxId: spec.sandboxId, containerId: warm.containerId },
      "prewarmed container failed to start; creating the sandbox anew",
    );
    // Unmapped first: the exit of the container being removed is not this sandbox's.
    this.#sandboxOfContainer.delete(warm.containerId);
    await this.#runtime.delete(warm.containerId, { gracePeriodMs: 0 });
    await rm(warm.logPath, { force: true });
    identity.containerId = own.containerId;
    identity.logPath = own.logPath;
    this.#sandboxOfContainer.set(own.containerId, spec.sandboxId);
    record.exitCode = undefined;
    record.exitedAt = undefined;
    return false;
  }

  #runtimeBinary(): { runtimeBinary?: string } {
    return this.#config.runtime === "gvisor" && this.#config.runscBinary
      ? { runtimeBinary: this.#config.runscBinary }
      : {};
  }

  #track(record: SandboxRecord): void {
    this.#records.set(record.identity.sandboxId, record);
    this.#sandboxOfContainer.set(record.identity.containerId, record.identity.sandboxId);
  }

  #untrack(record: SandboxRecord): void {
    const { sandboxId, containerId } = record.identity;
    if (this.#records.get(sandboxId) === record) this.#records.delete(sandboxId);
    if (this.#sandboxOfContainer.get(containerId) === sandboxId) this.#sandboxOfContainer.delete(containerId);
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

  async #deleteUntracked(
    sandboxId: string,
    gracePeriodSeconds: number | undefined,
    keepLog: boolean,
  ): Promise<void> {
    // Not tracked, but a container of ours may still exist (for example a create that crashed): remove
    // it too. It is found by its sandbox-id label, as it may be a prewarmed container of another id;
    // untaken prewarmed containers are their own sandbox ids, but are never deleted this way.
    const containers = await this.#runtime.list({
      [Labels.ManagedBy]: managedByValue,
      [Labels.Agent]: this.#config.agentId,
      [Labels.SandboxId]: sandboxId,
    });
    for (const container of containers) {
      if (
        container.labels[Labels.Prewarm] === "true" ||
        !isManagedContainer(container.labels, container.id)
      ) {
        continue;
      }
      await this.#runtime.delete(container.id, { gracePeriodMs: this.#graceMs(gracePeriodSeconds) });
      // Only a log in our log dir named after the container is ours to move or remove.
      const logPath = container.labels[Labels.LogPath];
      if (logPath === path.join(this.#config.logDir, `${container.id}.log`)) {
        await settleLog(this.#config.logDir, sandboxId, logPath, keepLog);
      }
    }
    // A log kept by an earlier delete goes with the final one.
    if (!keepLog) await rm(this.logPathOf(sandboxId), { force: true });
  }

  async #resync(): Promise<void> {
    const live = await this.#runtime.list({
      [Labels.ManagedBy]: managedByValue,
      [Labels.Agent]: this.#config.agentId,
    });
    const unowned: ContainerStatus[] = [];
    for (const container of live) {
      const sandboxId = this.#sandboxOfContainer.get(container.id);
      const record = sandboxId === undefined ? undefined : this.#records.get(sandboxId);
      if (!record) {
        if (container.labels[Labels.Prewarm] === "true") unowned.push(container);
        continue;
      }
      if (record.phase === "Running" && container.task.state === "stopped") {
        this.#recordExit({
          containerId: container.id,
          pid: container.task.pid,
          exitCode: container.task.exitCode ?? 0,
          exitedAt: container.task.exitedAt,
        });
      }
    }
    this.#prewarm.resync(unowned);
  }

  #recordExit(exit: TaskExitEvent): void {
    const sandboxId = this.#sandboxOfContainer.get(exit.containerId);
    const record = sandboxId === undefined ? undefined : this.#records.get(sandboxId);
    if (!record || sandboxId === undefined) {
      this.#prewarm.containerExited(exit.containerId);
      return;
    }
    record.exitCode = exit.exitCode;
    record.exitedAt = exit.exitedAt ?? new Date();
    if (record.phase === "Running") record.phase = "Exited";
    this.#log.info(
      { sandboxId, containerId: exit.containerId, exitCode: exit.exitCode },
      "sandbox process exited",
    );
    for (const listener of this.#exitListeners) listener(sandboxId);
  }

  #graceMs(gracePeriodSeconds: number | undefined): number {
    return (gracePeriodSeconds ?? this.#config.defaultGracePeriodSeconds) * 1000;
  }
}

/** Lower layers name fields of the sandbox (`command`); the API names them from the request root. */
function asRequestError(err: unknown): unknown {
  if (!(err instanceof FsbError) || !err.field || err.field.startsWith("sandbox.")) return err;
  const message = err.message.startsWith(`${err.field}: `)
    ? err.message.slice(err.field.length + 2)
    : err.message;
  return new FsbError(err.code, message, { cause: err, field: `sandbox.${err.field}` });
}

/** The agent's sandboxes: slots, idempotent create and delete, live status, adoption after a restart. */
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { ErrorCode, FsbError, Labels, managedByValue } from "@fast-sandbox/api";
import type { Logger } from "pino";
import type {
  ContainerRuntime,
  ContainerStatus,
  TaskExitEvent,
  TaskState,
} from "../containerd/container-runtime.ts";
import type { ImageResolver } from "../containerd/image-resolver.ts";
import type { AgentConfig } from "./agent-config.ts";
import type { AgentMetrics } from "./agent-metrics.ts";
import { buildSandboxOciSpec } from "./build-oci-spec.ts";
import {
  type AgentSandboxPhase,
  type AgentSandboxSpec,
  identityFromLabels,
  type SandboxIdentity,
  sandboxLabels,
  specHash,
} from "./sandbox-spec.ts";

/** A sandbox as the agent reports it. */
export interface SandboxStatus {
  sandboxId: string;
  name: string;
  namespace: string;
  uid: string;
  pool: string;
  image: string;
  phase: AgentSandboxPhase;
  taskState: TaskState;
  pid: number;
  exitCode: number | undefined;
  exitedAt: Date | undefined;
  createdAt: Date;
  endpoints: string[];
}

interface SandboxRecord {
  identity: SandboxIdentity;
  phase: AgentSandboxPhase;
  pid: number;
  exitCode: number | undefined;
  exitedAt: Date | undefined;
  /** Settles when a create in flight finishes (either way). */
  created?: Promise<void>;
  /** Settles when a delete in flight finishes. */
  deleted?: Promise<void>;
}

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
  readonly #records = new Map<string, SandboxRecord>();
  readonly #exitListeners = new Set<(id: string) => void>();

  constructor(options: SandboxManagerOptions) {
    this.#config = options.config;
    this.#runtime = options.runtime;
    this.#images = options.images;
    this.#log = options.logger;
    this.#metrics = options.metrics;
  }

  get capacity(): number {
    return this.#config.capacity;
  }

  get allocated(): number {
    return this.#records.size;
  }

  /**
   * Rebuilds state from the containers this agent labelled, so a restarted agent carries on with
   * running sandboxes and their logs. A container left without a task by a crash mid-create is removed.
   */
  async adopt(): Promise<void> {
    await mkdir(this.#config.logDir, { recursive: true });
    const containers = await this.#runtime.list({
      [Labels.ManagedBy]: managedByValue,
      [Labels.Agent]: this.#config.agentId,
    });
    for (const container of containers) {
      const identity = identityFromLabels(container.id, container.labels);
      if (!identity) {
        this.#log.warn(
          { sandboxId: container.id },
          "container has incomplete labels; leaving it to the janitor",
        );
        continue;
      }
      if (container.task.state === "missing") {
        this.#log.info({ sandboxId: container.id }, "removing half-created sandbox left by a previous run");
        await this.#runtime.delete(container.id, { gracePeriodMs: 0 });
        await rm(identity.logPath, { force: true });
        continue;
      }
      this.#records.set(container.id, { identity, ...stateFromTask(container) });
    }
    // A crash between Snapshots.Prepare and Containers.Create leaves a snapshot with no container.
    const containerIds = new Set(containers.map((c) => c.id));
    const snapshots = await this.#runtime.listSnapshots({
      [Labels.ManagedBy]: managedByValue,
      [Labels.Agent]: this.#config.agentId,
    });
    for (const key of snapshots.filter((k) => !containerIds.has(k))) {
      this.#log.info({ sandboxId: key }, "removing a snapshot left without its container");
      await this.#runtime.removeSnapshot(key);
    }
    this.#log.info({ adopted: this.#records.size }, "adopted sandboxes from containerd");
  }

  /** Creates a sandbox, or returns the existing one if the same id was created with the same spec. */
  async create(spec: AgentSandboxSpec): Promise<SandboxStatus> {
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
    this.#records.set(spec.sandboxId, record);
    const started = performance.now();
    record.created = this.#createContainer(spec, record);
    try {
      await record.created;
      this.#metrics.observeCreate("ok", (performance.now() - started) / 1000);
    } catch (err) {
      this.#records.delete(spec.sandboxId);
      this.#metrics.observeCreate("error", (performance.now() - started) / 1000);
      throw err;
    }
    return this.#status(record, undefined);
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
      if (!this.#records.has(sandboxId)) return;
      record.phase = "Deleting";
      const started = performance.now();
      await this.#runtime.delete(sandboxId, { gracePeriodMs: this.#graceMs(gracePeriodSeconds) });
      if (!keepLog) await rm(record.identity.logPath, { force: true });
      this.#records.delete(sandboxId);
      this.#metrics.observeDelete((performance.now() - started) / 1000);
      this.#log.info({ sandboxId }, "sandbox deleted");
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
      this.#status(record, liveById.get(record.identity.sandboxId)),
    );
  }

  /** One sandbox, or undefined if the agent does not have it. */
  get(sandboxId: string): { logPath: string; phase: AgentSandboxPhase } | undefined {
    const record = this.#records.get(sandboxId);
    return record && { logPath: record.identity.logPath, phase: record.phase };
  }

  /** Where a sandbox's log is (or was) kept; the id is a DNS label, so it cannot escape the log dir. */
  logPathOf(sandboxId: string): string {
    return path.join(this.#config.logDir, `${sandboxId}.log`);
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

  async #createContainer(spec: AgentSandboxSpec, record: SandboxRecord): Promise<void> {
    const { identity } = record;
    try {
      // A log left by an earlier sandbox of the same id must not show up in this one's output.
      const [image] = await Promise.all([
        this.#images.resolve(spec.image).catch((err: unknown) => {
          if (err instanceof FsbError && err.code === ErrorCode.NotFound) {
            throw new FsbError(ErrorCode.FailedPrecondition, err.message, { cause: err, field: "image" });
          }
          throw err;
        }),
        rm(identity.logPath, { force: true }),
      ]);
      const oci = buildSandboxOciSpec(spec, image.config, {
        agentId: this.#config.agentId,
        runtime: this.#config.runtime,
        network: this.#config.network,
        agentPid: process.pid,
      });
      const { pid } = await this.#runtime.create({
        id: spec.sandboxId,
        image,
        spec: oci,
        labels: sandboxLabels(spec, {
          agentId: this.#config.agentId,
          pool: identity.pool,
          createdAt: identity.createdAt,
          logPath: identity.logPath,
        }),
        logPath: identity.logPath,
        ...(this.#config.runtime === "gvisor" && this.#config.runscBinary
          ? { runtimeBinary: this.#config.runscBinary }
          : {}),
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

  async #repeatCreate(existing: SandboxRecord, hash: string): Promise<SandboxStatus> {
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
    return this.#status(existing, undefined);
  }

  async #deleteUntracked(
    sandboxId: string,
    gracePeriodSeconds: number | undefined,
    keepLog: boolean,
  ): Promise<void> {
    // Not tracked, but a container of ours may still exist (for example a create that crashed): remove it too.
    const container = await this.#runtime.inspect(sandboxId).catch((err: unknown) => {
      if (err instanceof FsbError && err.code === ErrorCode.NotFound) return undefined;
      throw err;
    });
    if (container?.labels[Labels.Agent] === this.#config.agentId) {
      await this.#runtime.delete(sandboxId, { gracePeriodMs: this.#graceMs(gracePeriodSeconds) });
    }
    // A log kept by an earlier delete goes with the final one.
    if (!keepLog) await rm(this.logPathOf(sandboxId), { force: true });
  }

  async #resync(): Promise<void> {
    const live = await this.#runtime.list({
      [Labels.ManagedBy]: managedByValue,
      [Labels.Agent]: this.#config.agentId,
    });
    for (const container of live) {
      const record = this.#records.get(container.id);
      if (record?.phase === "Running" && container.task.state === "stopped") {
        this.#recordExit({
          containerId: container.id,
          pid: container.task.pid,
          exitCode: container.task.exitCode ?? 0,
          exitedAt: container.task.exitedAt,
        });
      }
    }
  }

  #recordExit(exit: TaskExitEvent): void {
    const record = this.#records.get(exit.containerId);
    if (!record) return;
    record.exitCode = exit.exitCode;
    record.exitedAt = exit.exitedAt ?? new Date();
    if (record.phase === "Running") record.phase = "Exited";
    this.#log.info({ sandboxId: exit.containerId, exitCode: exit.exitCode }, "sandbox process exited");
    for (const listener of this.#exitListeners) listener(exit.containerId);
  }

  #graceMs(gracePeriodSeconds: number | undefined): number {
    return (gracePeriodSeconds ?? this.#config.defaultGracePeriodSeconds) * 1000;
  }

  #status(record: SandboxRecord, live: ContainerStatus | undefined): SandboxStatus {
    const { identity } = record;
    const task = live?.task;
    let phase = record.phase;
    if (task && (phase === "Running" || phase === "Exited"))
      phase = task.state === "stopped" || task.state === "missing" ? "Exited" : "Running";
    return {
      sandboxId: identity.sandboxId,
      name: identity.name,
      namespace: identity.namespace,
      uid: identity.uid,
      pool: identity.pool,
      image: identity.image,
      phase,
      taskState:
        task?.state ??
        (record.phase === "Running" ? "running" : record.phase === "Exited" ? "stopped" : "unknown"),
      pid: task?.pid || record.pid,
      exitCode: task?.exitCode ?? record.exitCode,
      exitedAt: task?.exitedAt ?? record.exitedAt,
      createdAt: identity.createdAt,
      endpoints: identity.exposedPorts.map((port) => `${this.#config.advertiseAddress}:${port}`),
    };
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

function stateFromTask(
  container: ContainerStatus,
): Pick<SandboxRecord, "phase" | "pid" | "exitCode" | "exitedAt"> {
  const stopped = container.task.state === "stopped";
  return {
    phase: stopped ? "Exited" : "Running",
    pid: container.task.pid,
    exitCode: container.task.exitCode,
    exitedAt: container.task.exitedAt,
  };
}

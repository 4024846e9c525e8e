/** Sandbox containers on containerd: create with rollback, inspect, graceful delete, list, task events. */
import { create, toBinary } from "@bufbuild/protobuf";
import { ErrorCode, FsbError, invalidArgument, Labels } from "@fast-sandbox/api";
import { OptionsSchema } from "../../gen/containerd/runc/options_pb.ts";
import type { ContainerdConnection } from "./connection.ts";
import {
  type ContainerInfo,
  type ContainerStatus,
  containerInfo,
  labelFilter,
  missingTask,
  type TaskStatus,
  taskInfo,
} from "./container-status.ts";
import {
  containerdCall,
  fromContainerdError,
  fromTaskError,
  ignoreNotFound,
  isNotFound,
  type TaskFailureContext,
} from "./errors.ts";
import type { ResolvedImage } from "./image-resolver.ts";
import type { OciSpec } from "./oci-spec.ts";
import { specToAny } from "./spec-any.ts";
import { taskEvents as subscribeTaskEvents, type TaskEvent } from "./task-events.ts";

export type { ContainerInfo, ContainerStatus, TaskState, TaskStatus } from "./container-status.ts";
export type { TaskEvent, TaskExitEvent, TaskOomEvent } from "./task-events.ts";

/** The shim every sandbox runs under; gVisor swaps the binary it calls, not the shim. */
export const RUNC_SHIM = "io.containerd.runc.v2";
/** containerd expects the bare type name here; a `type.googleapis.com/` prefix makes the shim ignore it. */
const RUNC_OPTIONS_TYPE_URL = "containerd.runc.v1.Options";
const SIGTERM = 15;
const SIGKILL = 9;
/** How long to wait for a process to die after SIGKILL before declaring the delete stuck. */
const KILL_WAIT_MS = 10_000;
/** A snapshot with this label is never garbage-collected; see #prepareSnapshot. */
const GC_ROOT_LABEL = "containerd.io/gc.root";
/** The container labels copied onto its snapshot, so an orphaned snapshot can be traced to its owner. */
const SNAPSHOT_LABELS = [Labels.ManagedBy, Labels.SandboxId, Labels.Agent];

/**
 * The labels of a sandbox's writable snapshot: a GC root (see ContainerRuntime#prepareSnapshot),
 * and the owner labels of its container.
 */
export function snapshotLabels(containerLabels: Record<string, string>): Record<string, string> {
  const labels: Record<string, string> = { [GC_ROOT_LABEL]: new Date().toISOString() };
  for (const key of SNAPSHOT_LABELS) {
    const value = containerLabels[key];
    if (value !== undefined) labels[key] = value;
  }
  return labels;
}

/** Options of {@link ContainerRuntime.create}. */
export interface CreateContainerOptions {
  /** Container id; also the snapshot key. Must match containerd's id grammar. */
  id: string;
  image: ResolvedImage;
  spec: OciSpec;
  labels: Record<string, string>;
  /** Absolute path that both stdout and stderr are appended to. */
  logPath: string;
  /** Alternative OCI runtime binary run by the runc shim, such as a runsc wrapper for gVisor. */
  runtimeBinary?: string;
  /** Start the task right away (true) or leave it created, waiting in `runc create` (prewarm). */
  start?: boolean;
}

/** Options of {@link ContainerRuntime.createFromHostDir}. */
export interface HostDirContainerOptions {
  id: string;
  /** Its `root.path` is the absolute host directory the container runs in. */
  spec: OciSpec;
  labels: Record<string, string>;
  /** Alternative OCI runtime binary run by the runc shim. */
  runtimeBinary?: string;
}

/** Options of {@link ContainerRuntime.delete}. */
export interface DeleteContainerOptions {
  /** Time between SIGTERM and SIGKILL. */
  gracePeriodMs: number;
}

/** Drives sandbox containers in one containerd namespace. */
export class ContainerRuntime {
  readonly #conn: ContainerdConnection;
  readonly #snapshotter: string;

  constructor(conn: ContainerdConnection, options: { snapshotter?: string } = {}) {
    this.#conn = conn;
    this.#snapshotter = options.snapshotter ?? "overlayfs";
  }

  /**
   * Creates (and by default starts) a container. Any failure rolls back what was made, so a
   * failed create leaves no container, task, snapshot or lease behind.
   */
  async create(options: CreateContainerOptions): Promise<{ pid: number }> {
    const { id } = options;
    const undo: Array<() => Promise<void>> = [];
    try {
      const prepared = await this.#prepareSnapshot(options);
      undo.push(() => this.removeSnapshot(id));

      await containerdCall(`create container ${id}`, () =>
        this.#conn.containers.create({
          container: {
            id,
            labels: options.labels,
            image: options.image.name,
            runtime: { name: RUNC_SHIM, options: runcOptions(options.runtimeBinary) },
            spec: specToAny(options.spec),
            snapshotter: this.#snapshotter,
            snapshotKey: id,
          },
        }),
      );
      undo.push(() => ignoreNotFound(`delete container ${id}`, () => this.#conn.containers.delete({ id })));

      const logUri = `file://${options.logPath}`;
      const created = await this.#conn.tasks
        .create({ containerId: id, rootfs: prepared, stdout: logUri, stderr: logUri })
        .catch((err: unknown) => {
          throw fromTaskError(err, `create task ${id}`, { cwd: options.spec.process.cwd });
        });
      undo.push(() => this.#deleteTask(id, { gracePeriodMs: 0 }));

      const pid =
        options.start === false ? created.pid : (await this.start(id, { cwd: options.spec.process.cwd })).pid;
      return { pid };
    } catch (err) {
      for (const step of undo.reverse()) {
        await step().catch(() => {
          // Best effort: the janitor removes whatever a failed rollback leaves.
        });
      }
      throw err;
    }
  }

  /** Keys of snapshots whose labels all match (ours carry the container's ownership labels). */
  async listSnapshots(labels: Record<string, string>): Promise<string[]> {
    const keys: string[] = [];
    await containerdCall("list snapshots", async () => {
      for await (const page of this.#conn.snapshots.list({
        snapshotter: this.#snapshotter,
        filters: Object.keys(labels).length > 0 ? [labelFilter(labels)] : [],
      })) {
        for (const info of page.info) keys.push(info.name);
      }
    });
    return keys;
  }

  /** Removes a snapshot; a missing one counts as removed. */
  removeSnapshot(key: string): Promise<void> {
    return ignoreNotFound(`remove snapshot ${key}`, () =>
      this.#conn.snapshots.remove({ snapshotter: this.#snapshotter, key }),
    );
  }

  /** Starts a created task (the fast half of a prewarmed create). */
  async start(id: string, context: TaskFailureContext = {}): Promise<{ pid: number }> {
    try {
      const started = await this.#conn.tasks.start({ containerId: id });
      return { pid: started.pid };
    } catch (err) {
      throw fromTaskError(err, `start task ${id}`, context);
    }
  }

  /**
   * Creates and starts a container whose root is a host directory named by the spec (absolute
   * `root.path`), with no image and no snapshot: nothing for containerd's GC or the snapshotter,
   * and no mount in the host's namespace (runc binds the directory inside the container's own).
   * Output is discarded. A failure rolls back what was made.
   */
  async createFromHostDir(options: HostDirContainerOptions): Promise<{ pid: number }> {
    const { id, spec } = options;
    if (!spec.root.path.startsWith("/")) {
      throw invalidArgument("root.path", `must be an absolute host directory, got "${spec.root.path}"`);
    }
    const undo: Array<() => Promise<void>> = [];
    try {
      await containerdCall(`create container ${id}`, () =>
        this.#conn.containers.create({
          container: {
            id,
            labels: options.labels,
            runtime: { name: RUNC_SHIM, options: runcOptions(options.runtimeBinary) },
            spec: specToAny(spec),
          },
        }),
      );
      undo.push(() => ignoreNotFound(`delete container ${id}`, () => this.#conn.containers.delete({ id })));
      await this.#conn.tasks.create({ containerId: id }).catch((err: unknown) => {
        throw fromTaskError(err, `create task ${id}`, { cwd: spec.process.cwd });
      });
      undo.push(() => this.#deleteTask(id, { gracePeriodMs: 0 }));
      return await this.start(id, { cwd: spec.process.cwd });
    } catch (err) {
      for (const step of undo.reverse()) {
        await step().catch(() => {
          // Best effort: the janitor removes whatever a failed rollback leaves.
        });
      }
      throw err;
    }
  }

  /**
   * Replaces all of a container's labels in one write (field mask `labels`): how a prewarmed container
   * takes on the identity of the sandbox that took it, since container ids cannot be renamed.
   */
  async setLabels(id: string, labels: Record<string, string>): Promise<void> {
    await containerdCall(`update labels of container ${id}`, () =>
      this.#conn.containers.update({ container: { id, labels }, updateMask: { paths: ["labels"] } }),
    );
  }

  /**
   * Stops and removes a container: SIGTERM, up to the grace period, SIGKILL, then task,
   * container and snapshot. Anything already gone counts as done, so it is idempotent.
   */
  async delete(id: string, options: DeleteContainerOptions): Promise<void> {
    await this.#deleteTask(id, options);
    await ignoreNotFound(`delete container ${id}`, () => this.#conn.containers.delete({ id }));
    await this.removeSnapshot(id);
  }

  /** The container and its task; NOT_FOUND if the container does not exist. */
  async inspect(id: string): Promise<ContainerStatus> {
    const response = await containerdCall(`get container ${id}`, () => this.#conn.containers.get({ id }));
    if (!response.container) throw new FsbError(ErrorCode.NotFound, `container ${id} not found`);
    return { ...containerInfo(response.container), task: await this.taskStatus(id) };
  }

  /** The state of a container's task; `missing` when it has none. */
  async taskStatus(id: string): Promise<TaskStatus> {
    try {
      const response = await this.#conn.tasks.get({ containerId: id });
      return response.process ? taskInfo(response.process) : missingTask;
    } catch (err) {
      if (isNotFound(err)) return missingTask;
      throw fromContainerdError(err, `get task ${id}`);
    }
  }

  /**
   * Containers whose labels all match `labels`, with their tasks' live state. Tasks.List asks every
   * shim of the namespace (every agent's) for every task's state, one after another, so this is for
   * start-up and the janitor; the agent's periodic resync uses {@link listContainers} and
   * {@link taskStatus} on its own containers instead.
   */
  async list(labels: Record<string, string>): Promise<ContainerStatus[]> {
    const [containers, tasks] = await Promise.all([
      this.listContainers(labels),
      containerdCall("list tasks", () => this.#conn.tasks.list({})),
    ]);
    // Tasks.List fills the process id (the container id for an init process), not container_id.
    const taskById = new Map(tasks.tasks.map((t) => [t.containerId || t.id, taskInfo(t)]));
    return containers.map((c) => ({ ...c, task: taskById.get(c.id) ?? missingTask }));
  }

  /** Containers whose labels all match `labels`, from containerd's metadata alone (no shim is asked). */
  async listContainers(labels: Record<string, string>): Promise<ContainerInfo[]> {
    const filter = labelFilter(labels);
    const response = await containerdCall("list containers", () =>
      this.#conn.containers.list({ filters: filter ? [filter] : [] }),
    );
    return response.containers.map(containerInfo);
  }

  /**
   * Exits of init processes and OOM kills in this namespace, until `signal` aborts or the stream
   * breaks (then it throws UNAVAILABLE and the caller re-subscribes and re-syncs).
   */
  taskEvents(signal: AbortSignal): AsyncGenerator<TaskEvent> {
    return subscribeTaskEvents(this.#conn, signal);
  }

  /**
   * Prepares the writable snapshot. It is a GC root, so no lease has to hold it until the container
   * references it (one round trip less per create); we remove it ourselves on delete, and the
   * ownership labels let a restarted agent or the janitor find one that a crash left behind.
   */
  async #prepareSnapshot(options: CreateContainerOptions) {
    const { id, image } = options;
    const labels = snapshotLabels(options.labels);
    try {
      const response = await this.#conn.snapshots.prepare({
        snapshotter: this.#snapshotter,
        key: id,
        parent: image.chainId,
        labels,
      });
      return response.mounts;
    } catch (err) {
      if (isNotFound(err)) {
        throw new FsbError(
          ErrorCode.FailedPrecondition,
          `image ${image.name} is not unpacked for snapshotter ${this.#snapshotter} (no snapshot ${image.chainId})`,
          { cause: err },
        );
      }
      throw fromContainerdError(err, `prepare snapshot ${id}`);
    }
  }

  async #deleteTask(id: string, options: DeleteContainerOptions): Promise<void> {
    const task = await this.taskStatus(id);
    if (task.state === "missing") return;
    // A created task (prewarm) never ran user code, so there is nothing to stop gracefully; and runsc
    // refuses to signal a container in state created, while delete removes it under runc and runsc alike.
    if (task.state !== "stopped" && task.state !== "created") await this.#stopTask(id, options.gracePeriodMs);
    await ignoreNotFound(`delete task ${id}`, () => this.#conn.tasks.delete({ containerId: id }));
  }

  /** SIGTERM, wait up to the grace period, then SIGKILL. Wait is armed before the first signal. */
  async #stopTask(id: string, gracePeriodMs: number): Promise<void> {
    const abort = new AbortController();
    const exited = this.#conn.tasks.wait({ containerId: id }, { signal: abort.signal }).then(
      () => true,
      (err: unknown) => {
        if (isNotFound(err) || abort.signal.aborted) return true;
        throw fromContainerdError(err, `wait for task ${id}`);
      },
    );
    try {
      if (gracePeriodMs > 0) {
        await this.#kill(id, SIGTERM);
        if (await settlesWithin(exited, gracePeriodMs)) return;
      }
      await this.#kill(id, SIGKILL);
      if (!(await settlesWithin(exited, KILL_WAIT_MS))) {
        throw new FsbError(
          ErrorCode.DeadlineExceeded,
          `task ${id} did not exit ${KILL_WAIT_MS} ms after SIGKILL`,
        );
      }
    } finally {
      abort.abort();
      await exited.catch(() => {});
    }
  }

  async #kill(id: string, signal: number): Promise<void> {
    try {
      await this.#conn.tasks.kill({ containerId: id, signal, all: signal === SIGKILL });
    } catch (err) {
      // Already stopped or gone: nothing left to signal.
      if (isNotFound(err) || String((err as Error).message).includes("process already finished")) return;
      throw fromContainerdError(err, `kill task ${id}`);
    }
  }
}

/** Resolves true if `promise` settles within `ms`, false otherwise; rejections propagate. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function runcOptions(binaryName: string | undefined) {
  if (!binaryName) return undefined;
  return {
    typeUrl: RUNC_OPTIONS_TYPE_URL,
    value: toBinary(OptionsSchema, create(OptionsSchema, { binaryName })),
  };
}

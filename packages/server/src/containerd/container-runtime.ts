/** Sandbox containers on containerd: create with rollback, inspect, graceful delete, list, exit events. */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ErrorCode, FsbError, Labels } from "@fast-sandbox/api";
import { TaskExitSchema } from "../../gen/containerd/events/task_pb.ts";
import { OptionsSchema } from "../../gen/containerd/runc/options_pb.ts";
import type { Container } from "../../gen/containerd/services/containers_pb.ts";
import { type Process, Status } from "../../gen/containerd/types/task_pb.ts";
import type { ContainerdConnection } from "./connection.ts";
import { containerdCall, fromContainerdError, ignoreNotFound, isNotFound } from "./errors.ts";
import type { ResolvedImage } from "./image-resolver.ts";
import type { OciSpec } from "./oci-spec.ts";
import { specToAny } from "./spec-any.ts";

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

/** The live state of a container's init process. */
export type TaskState = "created" | "running" | "paused" | "stopped" | "unknown" | "missing";

/** What containerd knows about one container and its task. */
export interface ContainerStatus {
  id: string;
  labels: Record<string, string>;
  image: string;
  createdAt: Date | undefined;
  task: TaskStatus;
}

/** The state of a container's task; `missing` when the container has no task. */
export interface TaskStatus {
  state: TaskState;
  pid: number;
  exitCode: number | undefined;
  exitedAt: Date | undefined;
}

/** A task's init process exited. */
export interface TaskExitEvent {
  containerId: string;
  pid: number;
  exitCode: number;
  exitedAt: Date | undefined;
}

/** Options of {@link ContainerRuntime.delete}. */
export interface DeleteContainerOptions {
  /** Time between SIGTERM and SIGKILL. */
  gracePeriodMs: number;
}

const stateByStatus: Record<number, TaskState> = {
  [Status.CREATED]: "created",
  [Status.RUNNING]: "running",
  [Status.STOPPED]: "stopped",
  [Status.PAUSED]: "paused",
  [Status.PAUSING]: "paused",
};

const missingTask: TaskStatus = { state: "missing", pid: 0, exitCode: undefined, exitedAt: undefined };

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
          throw commandError(err) ?? fromContainerdError(err, `create task ${id}`);
        });
      undo.push(() => this.#deleteTask(id, { gracePeriodMs: 0 }));

      const pid = options.start === false ? created.pid : (await this.start(id)).pid;
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
  async start(id: string): Promise<{ pid: number }> {
    const started = await containerdCall(`start task ${id}`, () =>
      this.#conn.tasks.start({ containerId: id }),
    );
    return { pid: started.pid };
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

  /** Containers whose labels all match `labels`, with their tasks' live state. */
  async list(labels: Record<string, string>): Promise<ContainerStatus[]> {
    const filter = labelFilter(labels);
    const [containers, tasks] = await Promise.all([
      containerdCall("list containers", () =>
        this.#conn.containers.list({ filters: filter ? [filter] : [] }),
      ),
      containerdCall("list tasks", () => this.#conn.tasks.list({})),
    ]);
    // Tasks.List fills the process id (the container id for an init process), not container_id.
    const taskById = new Map(tasks.tasks.map((t) => [t.containerId || t.id, taskInfo(t)]));
    return containers.containers.map((c) => ({
      ...containerInfo(c),
      task: taskById.get(c.id) ?? missingTask,
    }));
  }

  /**
   * Exits of init processes in this namespace, until `signal` aborts or the stream breaks
   * (then it throws UNAVAILABLE and the caller re-subscribes and re-lists).
   */
  async *taskExits(signal: AbortSignal): AsyncGenerator<TaskExitEvent> {
    const filter = `namespace==${this.#conn.namespace},topic=="/tasks/exit"`;
    try {
      for await (const envelope of this.#conn.events.subscribe({ filters: [filter] }, { signal })) {
        if (!envelope.event) continue;
        const exit = fromBinary(TaskExitSchema, envelope.event.value);
        // Exec'd processes have their own id; only the init process ends the sandbox.
        if (exit.id !== exit.containerId) continue;
        yield {
          containerId: exit.containerId,
          pid: exit.pid,
          exitCode: exit.exitStatus,
          exitedAt: exit.exitedAt ? timestampDate(exit.exitedAt) : undefined,
        };
      }
    } catch (err) {
      if (signal.aborted) return;
      throw fromContainerdError(err, "subscribe to task exits");
    }
  }

  /**
   * Prepares the writable snapshot. It is a GC root, so no lease has to hold it until the container
   * references it (one round trip less per create); we remove it ourselves on delete, and the
   * ownership labels let a restarted agent or the janitor find one that a crash left behind.
   */
  async #prepareSnapshot(options: CreateContainerOptions) {
    const { id, image } = options;
    const labels: Record<string, string> = { [GC_ROOT_LABEL]: new Date().toISOString() };
    for (const key of SNAPSHOT_LABELS) {
      const value = options.labels[key];
      if (value !== undefined) labels[key] = value;
    }
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

/** runc reports a command it cannot exec like this; it is the caller's mistake, not ours. */
const execFailure =
  /exec: "([^"]*)": (executable file not found in \$PATH|stat [^:]*: no such file or directory|permission denied)/;

/** INVALID_ARGUMENT naming the command when runc could not exec it, else undefined. */
export function commandError(err: unknown): FsbError | undefined {
  const match = execFailure.exec(err instanceof Error ? err.message : String(err));
  if (!match) return undefined;
  const reason = match[2]!.startsWith("permission") ? "is not executable" : "was not found in the image";
  return new FsbError(ErrorCode.InvalidArgument, `"${match[1]}" ${reason}`, { cause: err, field: "command" });
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

/** One containerd filter that ANDs label equalities; keys and values are quoted so `/` and `.` parse. */
function labelFilter(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `labels.${JSON.stringify(key)}==${JSON.stringify(value)}`)
    .join(",");
}

function containerInfo(c: Container): Omit<ContainerStatus, "task"> {
  return {
    id: c.id,
    labels: c.labels,
    image: c.image,
    createdAt: c.createdAt ? timestampDate(c.createdAt) : undefined,
  };
}

function taskInfo(p: Process): TaskStatus {
  const state = stateByStatus[p.status] ?? "unknown";
  return {
    state,
    pid: p.pid,
    exitCode: state === "stopped" ? p.exitStatus : undefined,
    exitedAt: state === "stopped" && p.exitedAt ? timestampDate(p.exitedAt) : undefined,
  };
}

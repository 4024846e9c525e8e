/** What containerd reports about a container and its task, as domain types rather than proto classes. */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Container } from "../../gen/containerd/services/containers_pb.ts";
import { type Process, Status } from "../../gen/containerd/types/task_pb.ts";

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

/** A container without its task: what Containers.List answers from containerd's metadata alone. */
export type ContainerInfo = Omit<ContainerStatus, "task">;

/** The state of a container's task; `missing` when the container has no task. */
export interface TaskStatus {
  state: TaskState;
  pid: number;
  exitCode: number | undefined;
  exitedAt: Date | undefined;
}

const stateByStatus: Record<number, TaskState> = {
  [Status.CREATED]: "created",
  [Status.RUNNING]: "running",
  [Status.STOPPED]: "stopped",
  [Status.PAUSED]: "paused",
  [Status.PAUSING]: "paused",
};

/** The task of a container that has none. */
export const missingTask: TaskStatus = Object.freeze({
  state: "missing",
  pid: 0,
  exitCode: undefined,
  exitedAt: undefined,
});

export function containerInfo(c: Container): ContainerInfo {
  return {
    id: c.id,
    labels: c.labels,
    image: c.image,
    createdAt: c.createdAt ? timestampDate(c.createdAt) : undefined,
  };
}

export function taskInfo(p: Process): TaskStatus {
  const state = stateByStatus[p.status] ?? "unknown";
  return {
    state,
    pid: p.pid,
    exitCode: state === "stopped" ? p.exitStatus : undefined,
    exitedAt: state === "stopped" && p.exitedAt ? timestampDate(p.exitedAt) : undefined,
  };
}

/** One containerd filter that ANDs label equalities; keys and values are quoted so `/` and `.` parse. */
export function labelFilter(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `labels.${JSON.stringify(key)}==${JSON.stringify(value)}`)
    .join(",");
}

/** containerd's task events that change what an agent reports: init-process exits and OOM kills. */
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { TaskExitSchema, TaskOOMSchema } from "../../gen/containerd/events/task_pb.ts";
import type { ContainerdConnection } from "./connection.ts";
import { fromContainerdError } from "./errors.ts";

/** A task's init process exited. */
export interface TaskExitEvent {
  kind: "exit";
  containerId: string;
  pid: number;
  exitCode: number;
  exitedAt: Date | undefined;
}

/** The kernel's OOM killer acted in a task's cgroup; the exit follows (containerd sends this first). */
export interface TaskOomEvent {
  kind: "oom";
  containerId: string;
}

export type TaskEvent = TaskExitEvent | TaskOomEvent;

const EXIT_TOPIC = "/tasks/exit";
const OOM_TOPIC = "/tasks/oom";

/**
 * Exits of init processes and OOM kills in the connection's namespace, until `signal` aborts or the
 * stream breaks (then it throws UNAVAILABLE, and the caller re-subscribes and re-syncs). Each filter
 * entry is one AND-ed condition; separate entries are OR-ed, so this is (ns and exit) or (ns and oom).
 */
export async function* taskEvents(
  conn: ContainerdConnection,
  signal: AbortSignal,
): AsyncGenerator<TaskEvent> {
  const filters = [EXIT_TOPIC, OOM_TOPIC].map((topic) => `namespace==${conn.namespace},topic=="${topic}"`);
  try {
    for await (const envelope of conn.events.subscribe({ filters }, { signal })) {
      if (!envelope.event) continue;
      if (envelope.topic === OOM_TOPIC) {
        yield { kind: "oom", containerId: fromBinary(TaskOOMSchema, envelope.event.value).containerId };
        continue;
      }
      const exit = fromBinary(TaskExitSchema, envelope.event.value);
      // Exec'd processes have their own id; only the init process ends the sandbox.
      if (exit.id !== exit.containerId) continue;
      yield {
        kind: "exit",
        containerId: exit.containerId,
        pid: exit.pid,
        exitCode: exit.exitStatus,
        exitedAt: exit.exitedAt ? timestampDate(exit.exitedAt) : undefined,
      };
    }
  } catch (err) {
    if (signal.aborted) return;
    throw fromContainerdError(err, "subscribe to task events");
  }
}

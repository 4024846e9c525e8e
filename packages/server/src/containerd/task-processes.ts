/** Extra processes in a running task (Tasks.Exec and friends), with containerd failures translated. */

import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import type { ContainerdConnection } from "./connection.ts";
import { containerdCall, fromContainerdError, fromTaskError, ignoreNotFound, isNotFound } from "./errors.ts";
import type { OciProcess } from "./oci-spec.ts";
import { processToAny, specFromAny } from "./spec-any.ts";

/** Where the shim connects an exec'd process's stdio: FIFO paths it opens ("" = none). */
export interface ExecIo {
  stdin: string;
  stdout: string;
  /** Must be "" with a terminal: the terminal carries both streams. */
  stderr: string;
  terminal: boolean;
}

/** How an exec'd process ended, as the shim reports it (a signal shows as 128 + its number). */
export interface ProcessExit {
  exitStatus: number;
  exitedAt: Date | undefined;
}

/** Exec'd processes of one containerd namespace's tasks, named by container id and exec id. */
export class TaskProcesses {
  readonly #conn: ContainerdConnection;

  constructor(conn: ContainerdConnection) {
    this.#conn = conn;
  }

  /** The process spec a container was created with: the base every exec'd process starts from. */
  async containerProcess(containerId: string): Promise<OciProcess> {
    const response = await containerdCall(`get container ${containerId}`, () =>
      this.#conn.containers.get({ id: containerId }),
    );
    const spec = response.container?.spec;
    if (!spec) throw new FsbError(ErrorCode.NotFound, `container ${containerId} has no spec`);
    return specFromAny(spec).process;
  }

  /** Registers a process in the task (the shim opens its stdio now); {@link start} runs it. */
  async exec(containerId: string, execId: string, spec: OciProcess, io: ExecIo): Promise<void> {
    try {
      await this.#conn.tasks.exec({ containerId, execId, spec: processToAny(spec), ...io });
    } catch (err) {
      throw fromTaskError(err, `exec ${execId} in ${containerId}`, { cwd: spec.cwd });
    }
  }

  /** Runs a registered process; a command missing from the image fails here (field `command`). */
  async start(containerId: string, execId: string, cwd: string): Promise<number> {
    try {
      return (await this.#conn.tasks.start({ containerId, execId })).pid;
    } catch (err) {
      throw fromTaskError(err, `start ${execId} in ${containerId}`, { cwd });
    }
  }

  /** Resolves when the process has exited; an aborted `signal` stops waiting (and rejects). */
  async wait(containerId: string, execId: string, signal?: AbortSignal): Promise<ProcessExit> {
    try {
      const response = await this.#conn.tasks.wait({ containerId, execId }, signal ? { signal } : {});
      return {
        exitStatus: response.exitStatus,
        exitedAt: response.exitedAt ? timestampDate(response.exitedAt) : undefined,
      };
    } catch (err) {
      throw fromContainerdError(err, `wait for ${execId} in ${containerId}`);
    }
  }

  /** Sends a signal; a process already gone counts as signalled. */
  async kill(containerId: string, execId: string, signal: number): Promise<void> {
    try {
      await this.#conn.tasks.kill({ containerId, execId, signal });
    } catch (err) {
      if (isNotFound(err) || String((err as Error).message).includes("process already finished")) return;
      throw fromContainerdError(err, `signal ${execId} in ${containerId}`);
    }
  }

  /** Changes the size of the process's terminal. */
  async resize(containerId: string, execId: string, cols: number, rows: number): Promise<void> {
    await containerdCall(`resize the terminal of ${execId} in ${containerId}`, () =>
      this.#conn.tasks.resizePty({ containerId, execId, width: cols, height: rows }),
    );
  }

  /** Closes the process's stdin, so it reads end of file. */
  async closeStdin(containerId: string, execId: string): Promise<void> {
    await ignoreNotFound(`close the stdin of ${execId} in ${containerId}`, () =>
      this.#conn.tasks.closeIO({ containerId, execId, stdin: true }),
    );
  }

  /** Forgets an exited process in the shim; a missing one (its task already deleted) counts as done. */
  async delete(containerId: string, execId: string): Promise<void> {
    await ignoreNotFound(`delete ${execId} in ${containerId}`, () =>
      this.#conn.tasks.deleteProcess({ containerId, execId }),
    );
  }
}

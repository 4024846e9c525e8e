/** Starts one process inside a sandbox's container through containerd, with its stdio on FIFOs, and undoes it all. */
import type net from "node:net";
import type { OciProcess } from "../containerd/oci-spec.ts";
import type { ProcessExit, TaskProcesses } from "../containerd/task-processes.ts";
import { type FifoMaker, type FifoReader, openFifoReader, openFifoWriter } from "./exec-fifos.ts";

/** What {@link launchProcess} needs. */
export interface LaunchDeps {
  processes: TaskProcesses;
  fifos: FifoMaker;
}

/** Options of {@link launchProcess}. */
export interface LaunchOptions {
  containerId: string;
  /** containerd's exec id: unique within the container. */
  execId: string;
  spec: OciProcess;
  /** Give the process a stdin to write to; without it the process reads /dev/null. */
  stdin: boolean;
}

/** A started process: its streams, its exit, and the calls that act on it. */
export interface LaunchedProcess {
  pid: number;
  stdout: net.Socket;
  /** Absent with a terminal, which carries both streams on stdout. */
  stderr: net.Socket | undefined;
  stdin: net.Socket | undefined;
  /** Resolves with the exit status; rejects if containerd could not say (the task went away). */
  exited: Promise<ProcessExit>;
  kill(signal: number): Promise<void>;
  resize(cols: number, rows: number): Promise<void>;
  /** Ends stdin once what was written is flushed, then has the shim close the process's stdin. */
  closeStdin(): Promise<void>;
  /** Closes every stream, removes the FIFOs and deletes the process in the shim (after it exited). */
  release(): Promise<void>;
}

/**
 * Makes the FIFOs, opens our ends, registers and starts the process, and starts waiting for its exit.
 * A failure at any step undoes the steps before it and throws (a missing command: field `command`).
 */
export async function launchProcess(deps: LaunchDeps, options: LaunchOptions): Promise<LaunchedProcess> {
  const { processes, fifos } = deps;
  const { containerId, execId, spec } = options;
  const terminal = spec.terminal;
  const set = await fifos.make();
  const readers: FifoReader[] = [];
  let stdin: net.Socket | undefined;
  let registered = false;
  const closeAll = () => {
    for (const r of readers) {
      r.releaseHold();
      r.socket.destroy();
    }
    stdin?.destroy();
  };
  try {
    readers.push(openFifoReader(set.stdout));
    if (!terminal) readers.push(openFifoReader(set.stderr));
    if (options.stdin) stdin = openFifoWriter(set.stdin);
    await processes.exec(containerId, execId, spec, {
      stdin: options.stdin ? set.stdin : "",
      stdout: set.stdout,
      stderr: terminal ? "" : set.stderr,
      terminal,
    });
    registered = true;
    const pid = await processes.start(containerId, execId, spec.cwd);
    // The shim holds its write ends now: from here on, end-of-file means the process's output is done.
    for (const r of readers) r.releaseHold();
    return started(deps, options, { pid, set, readers, stdin });
  } catch (err) {
    closeAll();
    if (registered) await processes.delete(containerId, execId).catch(() => {});
    await fifos.remove(set);
    throw err;
  }
}

function started(
  deps: LaunchDeps,
  options: LaunchOptions,
  parts: {
    pid: number;
    set: Awaited<ReturnType<FifoMaker["make"]>>;
    readers: FifoReader[];
    stdin: net.Socket | undefined;
  },
): LaunchedProcess {
  const { processes, fifos } = deps;
  const { containerId, execId } = options;
  const { readers, stdin } = parts;
  const waiting = new AbortController();
  const exited = processes.wait(containerId, execId, waiting.signal);
  exited.catch(() => {});
  let released: Promise<void> | undefined;
  return {
    pid: parts.pid,
    stdout: (readers[0] as FifoReader).socket,
    stderr: readers[1]?.socket,
    stdin,
    exited,
    kill: (signal) => processes.kill(containerId, execId, signal),
    resize: (cols, rows) => processes.resize(containerId, execId, cols, rows),
    async closeStdin() {
      if (stdin && !stdin.destroyed) {
        await new Promise<void>((resolve) => {
          stdin.once("close", () => resolve());
          stdin.end();
        });
      }
      await processes.closeStdin(containerId, execId);
    },
    release() {
      released ??= (async () => {
        waiting.abort();
        for (const r of readers) r.socket.destroy();
        stdin?.destroy();
        await fifos.remove(parts.set);
        await processes.delete(containerId, execId).catch(() => {});
      })();
      return released;
    },
  };
}

/**
 * The exec benchmark's floor: a process run in a sandbox's task straight over containerd's API, as a
 * minimal client does it (Tasks.Exec with stdio on FIFOs it opened, Tasks.Start, Tasks.Wait, the
 * output read to end-of-file), with no agent or controller in between.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, constants, openSync } from "node:fs";
import { rm } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import type { ContainerdConnection } from "../packages/server/src/containerd/connection.ts";
import { execProcessSpec } from "../packages/server/src/containerd/exec-process-spec.ts";
import { processToAny } from "../packages/server/src/containerd/spec-any.ts";
import { TaskProcesses } from "../packages/server/src/containerd/task-processes.ts";

const run = promisify(execFile);

/** One floor run's result: the timed part and what the process wrote. */
export interface FloorExec {
  ms: number;
  stdout: string;
  stderr: string;
  exitStatus: number;
}

/**
 * Runs `argv` in container `containerId` `run` times over, one at a time. The process spec (the
 * container's own, with `argv`) is read and built once, untimed. Per run, the two output FIFOs are
 * made before the clock starts: a Go client makes them with one mknod(2) call each (microseconds);
 * Node has no mknod, and timing a `mkfifo` process here would flatter every path measured against
 * the floor. Timed: opening our ends, Exec, Start, Wait and reading both outputs to end-of-file.
 * Untimed afterwards: DeleteProcess and removing the FIFOs.
 */
export class ExecFloor {
  readonly #conn: ContainerdConnection;
  readonly #containerId: string;
  readonly #fifoDir: string;
  #spec: ReturnType<typeof processToAny> | undefined;

  constructor(conn: ContainerdConnection, containerId: string, fifoDir: string) {
    this.#conn = conn;
    this.#containerId = containerId;
    this.#fifoDir = fifoDir;
  }

  /** Reads the container's process spec and builds the exec's (untimed, once). */
  async prepare(argv: string[]): Promise<void> {
    const base = await new TaskProcesses(this.#conn).containerProcess(this.#containerId);
    this.#spec = processToAny(execProcessSpec(base, { args: argv }));
  }

  async exec(): Promise<FloorExec> {
    const spec = this.#spec;
    if (!spec) throw new Error("ExecFloor.prepare was not called");
    const containerId = this.#containerId;
    const execId = `floor-${randomBytes(6).toString("hex")}`;
    const stdout = path.join(this.#fifoDir, `${execId}-1`);
    const stderr = path.join(this.#fifoDir, `${execId}-2`);
    await run("mkfifo", ["-m", "600", stdout, stderr]);
    const tasks = this.#conn.tasks;
    const readers: Array<ReturnType<typeof openReader>> = [];
    try {
      const started = performance.now();
      const out = openReader(stdout);
      readers.push(out);
      const err = openReader(stderr);
      readers.push(err);
      await tasks.exec({ containerId, execId, spec, stdin: "", stdout, stderr, terminal: false });
      await tasks.start({ containerId, execId });
      out.releaseHold();
      err.releaseHold();
      const [exit, outText, errText] = await Promise.all([
        tasks.wait({ containerId, execId }),
        out.text,
        err.text,
      ]);
      const ms = performance.now() - started;
      return { ms, stdout: outText, stderr: errText, exitStatus: exit.exitStatus };
    } finally {
      for (const r of readers) r.close();
      await tasks.deleteProcess({ containerId, execId }).catch(() => {});
      await rm(stdout, { force: true });
      await rm(stderr, { force: true });
    }
  }
}

/**
 * Opens a FIFO's read end without blocking, plus a spare write end so it does not read end-of-file
 * before the shim has opened its own (what containerd's Go client does with its fifo package).
 */
function openReader(file: string): { text: Promise<string>; releaseHold(): void; close(): void } {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  let hold: number | undefined = openSync(file, constants.O_WRONLY | constants.O_NONBLOCK);
  const socket = new net.Socket({ fd, readable: true, writable: false });
  const text = new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("end", () => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    socket.once("error", reject);
  });
  return {
    text,
    releaseHold() {
      if (hold === undefined) return;
      closeSync(hold);
      hold = undefined;
    },
    /** Releases everything (after a failed run too); the text, if read, is kept. */
    close() {
      this.releaseHold();
      socket.destroy();
    },
  };
}

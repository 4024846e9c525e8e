/**
 * The FIFOs an exec'd process's stdio runs through. containerd's shim, a host process, opens them by
 * path, so they live under the agent's anchor dir: a host path that the agent Pod mounts at the same
 * place (controller/pool/agent-pod.ts), writable. Opened non-blocking and read through libuv's
 * event loop, so a peer that never reads or writes never blocks the agent.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, constants, openSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The FIFO paths of one process. */
export interface FifoSet {
  stdin: string;
  stdout: string;
  stderr: string;
}

/** The subdirectory of the anchor dir that holds one agent's FIFOs. */
export function fifoDirOf(anchorDir: string, agentId: string): string {
  return path.join(anchorDir, "exec", agentId);
}

/** Makes FIFO sets in one directory, owned by this agent (its previous run's leftovers are removed at start). */
export class FifoMaker {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Empties the directory: FIFOs left by an earlier run belong to processes this run does not track. */
  async prepare(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Removes the directory and whatever it holds (at stop: no process of this run is served any more). */
  async removeAll(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Three new FIFOs, readable and writable by root only (coreutils' mkfifo: Node has no mknod). */
  async make(): Promise<FifoSet> {
    const base = path.join(this.dir, randomBytes(8).toString("hex"));
    const set = { stdin: `${base}-0`, stdout: `${base}-1`, stderr: `${base}-2` };
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await run("mkfifo", ["-m", "600", set.stdin, set.stdout, set.stderr]);
    return set;
  }

  /** Removes a set's FIFOs; open ends keep working until closed. */
  async remove(set: FifoSet): Promise<void> {
    await Promise.all([set.stdin, set.stdout, set.stderr].map((p) => rm(p, { force: true })));
  }
}

/** The read end of an output FIFO, and a spare write end that keeps it from reading end-of-file early. */
export interface FifoReader {
  socket: net.Socket;
  /** Closes the spare write end: once the shim's is closed too, the socket reads end-of-file. */
  releaseHold(): void;
}

/**
 * Opens an output FIFO for reading. Until the shim opens its write end, a FIFO without writers reads
 * end-of-file at once; the spare write end held here prevents that until {@link FifoReader.releaseHold}.
 */
export function openFifoReader(file: string): FifoReader {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  let hold: number | undefined = openSync(file, constants.O_WRONLY | constants.O_NONBLOCK);
  const socket = new net.Socket({ fd, readable: true, writable: false });
  return {
    socket,
    releaseHold() {
      if (hold === undefined) return;
      closeSync(hold);
      hold = undefined;
    },
  };
}

/**
 * Opens the stdin FIFO for writing. Read-write, so the open never fails for want of a reader (the
 * shim opens its end later) and a write never raises SIGPIPE; closing it is the process's end-of-file.
 */
export function openFifoWriter(file: string): net.Socket {
  const fd = openSync(file, constants.O_RDWR | constants.O_NONBLOCK);
  return new net.Socket({ fd, readable: false, writable: true });
}

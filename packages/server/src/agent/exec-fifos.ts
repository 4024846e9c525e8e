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

/**
 * FIFO sets kept made ahead, so an exec does not wait for a `mkfifo` process: spawning one from the
 * agent costs milliseconds on a quiet node and tens of them on a busy one (docs/benchmarks.md, exec).
 */
export const SPARE_FIFO_SETS = 8;
/** Spares are topped up, all with one `mkfifo` process, once no more than this many are left. */
const REFILL_AT = SPARE_FIFO_SETS / 2;

/** Makes FIFOs at the given paths, readable and writable by root only. */
export type MakeFifos = (paths: string[]) => Promise<void>;

/** coreutils' mkfifo: Node has no mknod. One process makes any number of FIFOs. */
const mkfifo: MakeFifos = async (paths) => {
  await run("mkfifo", ["-m", "600", ...paths]);
};

/**
 * Makes FIFO sets in one directory, owned by this agent (its previous run's leftovers are removed at
 * start). Keeps up to {@link SPARE_FIFO_SETS} sets made ahead; each set is handed out once.
 */
export class FifoMaker {
  readonly dir: string;
  readonly #makeFifos: MakeFifos;
  #spares: FifoSet[] = [];
  #refilling: Promise<void> | undefined;
  /** Bumped when the directory is emptied, so a refill that raced it does not hand out removed sets. */
  #generation = 0;

  constructor(dir: string, makeFifos: MakeFifos = mkfifo) {
    this.dir = dir;
    this.#makeFifos = makeFifos;
  }

  /** Spare sets ready now. */
  get spareCount(): number {
    return this.#spares.length;
  }

  /** Empties the directory (FIFOs left by an earlier run belong to processes this run does not track), then makes the spares. */
  async prepare(): Promise<void> {
    await this.#forgetSpares();
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    this.#topUp();
    await this.#refilling;
  }

  /** Removes the directory and whatever it holds (at stop: no process of this run is served any more). */
  async removeAll(): Promise<void> {
    await this.#forgetSpares();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Three new FIFOs: a spare one if there is one (then the spares are topped up in the background), else made now. */
  async make(): Promise<FifoSet> {
    const spare = this.#spares.shift();
    const set = spare ?? (await this.#makeSets(1))[0];
    this.#topUp();
    return set as FifoSet;
  }

  /** Removes a set's FIFOs; open ends keep working until closed. */
  async remove(set: FifoSet): Promise<void> {
    await Promise.all([set.stdin, set.stdout, set.stderr].map((p) => rm(p, { force: true })));
  }

  async #makeSets(count: number): Promise<FifoSet[]> {
    const sets = Array.from({ length: count }, () => {
      const base = path.join(this.dir, randomBytes(8).toString("hex"));
      return { stdin: `${base}-0`, stdout: `${base}-1`, stderr: `${base}-2` };
    });
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.#makeFifos(sets.flatMap((s) => [s.stdin, s.stdout, s.stderr]));
    return sets;
  }

  /** Starts one refill if the spares ran low; a failed refill is dropped (the next make makes its own set). */
  #topUp(): void {
    if (this.#refilling || this.#spares.length > REFILL_AT) return;
    const generation = this.#generation;
    this.#refilling = this.#makeSets(SPARE_FIFO_SETS - this.#spares.length)
      .then(async (sets) => {
        if (generation === this.#generation) this.#spares.push(...sets);
        else await Promise.all(sets.map((s) => this.remove(s)));
      })
      .catch(() => {})
      .finally(() => {
        this.#refilling = undefined;
      });
  }

  async #forgetSpares(): Promise<void> {
    this.#generation += 1;
    this.#spares = [];
    await this.#refilling;
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

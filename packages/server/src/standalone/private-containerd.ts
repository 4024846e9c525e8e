/** Starts, adopts and stops a containerd of our own: its own root, state dir and socket under one directory. */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { ContainerdConnection } from "../containerd/connection.ts";
import { recordedProcess, removePidFile, writePidFile } from "../core/pid-file.ts";
import { argvHas } from "../core/proc-fs.ts";
import { stopProcess } from "../core/stop-process.ts";

const execFileAsync = promisify(execFile);
/** containerd boots in ~25 ms here; the bound covers a cold, loaded CI machine. */
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
/** How long one "does it answer" call may take before the socket counts as dead. */
const PROBE_TIMEOUT_MS = 1000;
/** Plugins that we never use and that only slow start-up or log noise (CRI wants CNI). */
const DISABLED_PLUGINS = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
];

/** Options of {@link PrivateContainerd}. */
export interface PrivateContainerdOptions {
  /** Directory that holds config, root, state, socket, log and pid file. */
  dir: string;
  /** containerd binary; defaults to the one on PATH. */
  binary?: string;
}

/** How {@link PrivateContainerd.start} got its containerd. */
export type ContainerdStart = "started" | "adopted";

/**
 * A containerd process owned by this project. It never touches the system's containerd: the
 * socket, root and state live under `dir`. It is found again and stopped by its PID (from the PID
 * file, checked against its command line), never by name.
 */
export class PrivateContainerd {
  readonly dir: string;
  readonly socketPath: string;
  readonly logPath: string;
  readonly #binary: string;
  readonly #pidFile: string;
  readonly #configPath: string;
  #child: ChildProcess | undefined;
  /** A containerd left running by a run that ended without stopping it, now ours to stop. */
  #adoptedPid: number | undefined;

  constructor(options: PrivateContainerdOptions) {
    this.dir = path.resolve(options.dir);
    this.socketPath = path.join(this.dir, "containerd.sock");
    this.logPath = path.join(this.dir, "containerd.log");
    this.#binary = options.binary ?? "containerd";
    this.#pidFile = path.join(this.dir, "containerd.pid");
    this.#configPath = path.join(this.dir, "config.toml");
  }

  get pid(): number | undefined {
    return this.#child?.pid ?? this.#adoptedPid;
  }

  /**
   * Starts containerd and resolves once it answers on its socket. A containerd that an earlier run
   * left behind in this directory is never left holding its database lock: with `adopt`, one that
   * still answers with today's config is kept and owned from now on; any other is stopped first.
   * Only call this while no live process uses `dir` (the standalone instance lock makes sure).
   */
  async start(options: { adopt?: boolean } = {}): Promise<ContainerdStart> {
    await mkdir(this.dir, { recursive: true });
    const leftover = this.#leftoverPid();
    if (leftover !== undefined) {
      if (options.adopt && (await this.#adoptable())) {
        this.#adoptedPid = leftover;
        return "adopted";
      }
      await this.#stopPid(leftover);
    } else if (await this.#answers()) {
      throw new FsbError(
        ErrorCode.FailedPrecondition,
        `a containerd already answers on ${this.socketPath}, but ${this.#pidFile} does not name it; stop that process, then start again`,
      );
    }
    await writeFile(this.#configPath, this.#config());
    await rm(this.socketPath, { force: true });

    const log = openSync(this.logPath, "a");
    const child = spawn(this.#binary, ["--config", this.#configPath], {
      stdio: ["ignore", log, log],
      // Its own process group: a terminal's Ctrl-C reaches only our process, which stops the
      // agents before containerd, in order.
      detached: true,
    });
    closeSync(log);
    this.#child = child;
    const exited = new Promise<never>((_, reject) => {
      child.once("error", (err) => reject(err));
      child.once("exit", (code, signal) =>
        reject(new Error(`containerd exited during start-up (code ${code}, signal ${signal})`)),
      );
    });
    exited.catch(() => {});
    // Synchronously after the spawn: there is no moment in which a crash leaves it unrecorded.
    if (child.pid) writePidFile(this.#pidFile, child.pid);
    try {
      await Promise.race([this.#waitReady(), exited]);
    } catch (err) {
      await this.stop();
      throw new FsbError(
        ErrorCode.Unavailable,
        `private containerd did not start: ${(err as Error).message}; see ${this.logPath}`,
        { cause: err },
      );
    }
    return "started";
  }

  /** Stops our containerd (SIGTERM, then SIGKILL), by PID. Sandboxes' shims are not ours to kill. */
  async stop(): Promise<void> {
    const child = this.#child;
    const adopted = this.#adoptedPid;
    this.#child = undefined;
    this.#adoptedPid = undefined;
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await gone;
      clearTimeout(timer);
    }
    if (adopted !== undefined) await this.#stopPid(adopted);
    const pid = child?.pid ?? adopted;
    if (pid !== undefined) removePidFile(this.#pidFile, pid);
  }

  /** Imports an OCI layout tarball as `<baseName>:<tag>` into `namespace` and unpacks it. */
  importImage(tarPath: string, baseName: string, namespace: string): Promise<void> {
    return PrivateContainerd.importImageTo(this.socketPath, tarPath, baseName, namespace);
  }

  /** The same, into any containerd. Idempotent: re-importing an image that is present is cheap. */
  static async importImageTo(
    socketPath: string,
    tarPath: string,
    baseName: string,
    namespace: string,
  ): Promise<void> {
    // Image import is setup tooling, not the data path, so the stock ctr client does it.
    const args = [
      "--address",
      socketPath,
      "--namespace",
      namespace,
      "images",
      "import",
      "--base-name",
      baseName,
    ];
    await execFileAsync("ctr", [...args, tarPath]);
  }

  /** A connection to this containerd in `namespace`. */
  connect(namespace: string): ContainerdConnection {
    return new ContainerdConnection({ socketPath: this.socketPath, namespace });
  }

  /**
   * A previous run that crashed may have left its containerd running. Its PID file says which
   * process it was; it is stopped only if that PID still runs containerd with our config.
   */
  async stopLeftover(): Promise<void> {
    const pid = this.#leftoverPid();
    if (pid !== undefined) await this.#stopPid(pid);
  }

  /** The PID file's process, if it still runs containerd with this directory's config. */
  #leftoverPid(): number | undefined {
    return recordedProcess(this.#pidFile, (argv) => argvHas(argv, "--config", this.#configPath));
  }

  /** A leftover is kept only if it answers and runs the config this version would write. */
  async #adoptable(): Promise<boolean> {
    const current = await readFile(this.#configPath, "utf8").catch(() => "");
    return current === this.#config() && (await this.#answers());
  }

  async #stopPid(pid: number): Promise<void> {
    if (!(await stopProcess(pid, STOP_TIMEOUT_MS))) {
      throw new FsbError(
        ErrorCode.Unavailable,
        `containerd (pid ${pid}) of ${this.dir} did not stop, even after SIGKILL`,
      );
    }
    removePidFile(this.#pidFile, pid);
  }

  async #answers(): Promise<boolean> {
    if (!existsSync(this.socketPath)) return false;
    const conn = this.connect("default");
    try {
      await conn.version.version({}, { timeoutMs: PROBE_TIMEOUT_MS });
      return true;
    } catch {
      return false;
    } finally {
      conn.close();
    }
  }

  async #waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const conn = this.connect("default");
    let lastError: unknown;
    try {
      while (Date.now() < deadline) {
        if (existsSync(this.socketPath)) {
          try {
            await conn.version.version({}, { timeoutMs: PROBE_TIMEOUT_MS });
            return;
          } catch (err) {
            lastError = err;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } finally {
      conn.close();
    }
    const why =
      lastError === undefined
        ? "the socket never appeared (is another containerd holding this root's database lock?)"
        : String((lastError as Error).message ?? lastError);
    throw new Error(`no answer on ${this.socketPath} after ${READY_TIMEOUT_MS} ms: ${why}`);
  }

  #config(): string {
    const q = (s: string) => JSON.stringify(s);
    return [
      "# Written by Fast Sandbox; a private containerd that never touches the system's.",
      "version = 2",
      `root = ${q(path.join(this.dir, "root"))}`,
      `state = ${q(path.join(this.dir, "state"))}`,
      `disabled_plugins = [${DISABLED_PLUGINS.map(q).join(", ")}]`,
      "",
      "[grpc]",
      `  address = ${q(this.socketPath)}`,
      "",
      "[ttrpc]",
      `  address = ${q(`${this.socketPath}.ttrpc`)}`,
      "",
    ].join("\n");
  }
}

/** Starts and stops a containerd of our own: its own root, state dir and socket under one directory. */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { ContainerdConnection } from "../containerd/connection.ts";

const execFileAsync = promisify(execFile);
/** containerd boots in ~25 ms here; the bound covers a cold, loaded CI machine. */
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
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

/**
 * A containerd process owned by this project. It never touches the system's containerd: the
 * socket, root and state live under `dir`. It is stopped by its PID, never by name.
 */
export class PrivateContainerd {
  readonly dir: string;
  readonly socketPath: string;
  readonly #binary: string;
  readonly #pidFile: string;
  #child: ChildProcess | undefined;

  constructor(options: PrivateContainerdOptions) {
    this.dir = path.resolve(options.dir);
    this.socketPath = path.join(this.dir, "containerd.sock");
    this.#binary = options.binary ?? "containerd";
    this.#pidFile = path.join(this.dir, "containerd.pid");
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts containerd and resolves once it answers on its socket. */
  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.stopLeftover();
    const configPath = path.join(this.dir, "config.toml");
    await writeFile(configPath, this.#config());
    await rm(this.socketPath, { force: true });

    const logPath = path.join(this.dir, "containerd.log");
    const log = openSync(logPath, "a");
    const child = spawn(this.#binary, ["--config", configPath], {
      stdio: ["ignore", log, log],
      detached: false,
    });
    closeSync(log);
    this.#child = child;
    const exited = new Promise<never>((_, reject) => {
      child.once("error", (err) => reject(err));
      child.once("exit", (code, signal) =>
        reject(
          new Error(`containerd exited during start-up (code ${code}, signal ${signal}); see ${logPath}`),
        ),
      );
    });
    exited.catch(() => {});
    await writeFile(this.#pidFile, `${child.pid}\n`);
    try {
      await Promise.race([this.#waitReady(), exited]);
    } catch (err) {
      await this.stop();
      throw new FsbError(
        ErrorCode.Unavailable,
        `private containerd did not start: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  /** Stops the containerd we started (SIGTERM, then SIGKILL), by PID. Sandboxes' shims are not ours to kill. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await gone;
      clearTimeout(timer);
    }
    await rm(this.#pidFile, { force: true });
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

  async #waitReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const conn = this.connect("default");
    let lastError: unknown;
    try {
      while (Date.now() < deadline) {
        if (existsSync(this.socketPath)) {
          try {
            await conn.version.version({}, { timeoutMs: 1000 });
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
    throw new Error(`no answer on ${this.socketPath} after ${READY_TIMEOUT_MS} ms: ${String(lastError)}`);
  }

  /**
   * A previous run that crashed may have left its containerd running. Its PID file says which
   * process it was; we stop it only if that PID still runs containerd with our config.
   */
  async stopLeftover(): Promise<void> {
    const pid = Number.parseInt(await readFile(this.#pidFile, "utf8").catch(() => ""), 10);
    if (!Number.isInteger(pid) || pid <= 0) return;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.includes(path.join(this.dir, "config.toml"))) return;
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (existsSync(`/proc/${pid}`)) process.kill(pid, "SIGKILL");
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

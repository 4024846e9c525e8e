/** Runs fsb-janitor as a child process beside local agents (standalone), recorded in a PID file and stopped by its PID. */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import type { Logger } from "pino";
import { recordedProcess, removePidFile, writePidFile } from "../core/pid-file.ts";
import { argvHas } from "../core/proc-fs.ts";
import { stopProcess } from "../core/stop-process.ts";

const janitorEntry = path.resolve(import.meta.dirname, "../bin/fsb-janitor.ts");
/** A scan in progress finishes its current removal first; that takes well under this. */
const STOP_TIMEOUT_MS = 10_000;
/** The janitor answers /healthz within a second of its start here; the bound covers a loaded machine. */
const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 50;

/** Options of {@link startJanitorProcess}. */
export interface JanitorProcessOptions {
  controllerUrl: string;
  /** The controller's API token (passed as FSB_TOKEN, never on the command line); undefined = --insecure. */
  token: string | undefined;
  containerdSocket: string;
  containerdNamespace: string;
  containerdState: string;
  /** The agents' sandbox log directory. */
  logDir: string;
  metricsBindAddress: string;
  /** Where the janitor's own output goes. */
  outputFile: string;
  /**
   * Where its PID is kept. A janitor that an earlier run left there (verified by its command line:
   * this log dir) is stopped before the new one starts, so exactly one runs.
   */
  pidFile: string;
  /** More flags, such as --scan-interval. */
  extraArgs?: string[];
  logger: Logger;
}

/** A running janitor child. */
export interface JanitorProcess {
  readonly pid: number;
  /** Resolves once its metrics endpoint answers /healthz; rejects (naming its output file) if it exits first. */
  ready(): Promise<void>;
  /** SIGTERM, then SIGKILL if it has not exited after a while. */
  stop(): Promise<void>;
}

/**
 * Stops the janitor an earlier run left running, if `pidFile` names one: a janitor process whose
 * command line has this log dir. Returns its PID (undefined: there was none).
 */
export async function stopLeftoverJanitor(
  pidFile: string,
  logDir: string,
  logger: Logger,
): Promise<number | undefined> {
  const isOurs = (argv: readonly string[]) => argv[1] === janitorEntry && argvHas(argv, "--log-dir", logDir);
  const leftover = recordedProcess(pidFile, isOurs);
  if (leftover === undefined) return undefined;
  logger.info({ pid: leftover }, "stopping the janitor an earlier run left behind");
  if (!(await stopProcess(leftover, STOP_TIMEOUT_MS))) {
    throw new FsbError(ErrorCode.Unavailable, `the leftover janitor (pid ${leftover}) did not stop`);
  }
  removePidFile(pidFile, leftover);
  return leftover;
}

/** Stops a janitor left by an earlier run (see {@link stopLeftoverJanitor}), then starts one. */
export async function startJanitorProcess(options: JanitorProcessOptions): Promise<JanitorProcess> {
  await stopLeftoverJanitor(options.pidFile, options.logDir, options.logger);
  const out = openSync(options.outputFile, "a");
  const child = spawn(
    process.execPath,
    [
      janitorEntry,
      "--controller-url",
      options.controllerUrl,
      "--containerd-socket",
      options.containerdSocket,
      "--containerd-namespace",
      options.containerdNamespace,
      "--containerd-state",
      options.containerdState,
      "--log-dir",
      options.logDir,
      "--metrics-bind-address",
      options.metricsBindAddress,
      ...(options.token ? [] : ["--insecure"]),
      ...(options.extraArgs ?? []),
    ],
    {
      // Its own process group: a terminal's Ctrl-C reaches the parent, which stops it in order.
      detached: true,
      stdio: ["ignore", out, out],
      env: { ...process.env, ...(options.token ? { FSB_TOKEN: options.token } : {}) },
    },
  );
  closeSync(out);
  const pid = child.pid ?? 0;
  // Synchronously after the spawn: there is no moment in which a crash leaves it unrecorded.
  if (pid) writePidFile(options.pidFile, pid);
  let stopping = false;
  child.once("exit", (code, signal) => {
    removePidFile(options.pidFile, pid);
    if (!stopping) {
      options.logger.warn(
        { code, signal, output: options.outputFile },
        "janitor exited; orphans are not collected",
      );
    }
  });
  options.logger.info({ pid, output: options.outputFile }, "janitor started");
  return {
    pid,
    ready: () => waitHealthy(child, options),
    stop: () => {
      stopping = true;
      return stopChild(child);
    },
  };
}

async function waitHealthy(child: ChildProcess, options: JanitorProcessOptions): Promise<void> {
  const url = `http://${hostForUrl(options.metricsBindAddress)}/healthz`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new FsbError(
        ErrorCode.Unavailable,
        `the janitor exited at start-up (code ${child.exitCode}); see ${options.outputFile}`,
      );
    }
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await sleep(READY_POLL_MS);
  }
  throw new FsbError(
    ErrorCode.Unavailable,
    `the janitor did not answer on ${url} within ${READY_TIMEOUT_MS} ms; see ${options.outputFile}`,
  );
}

/** `:9093` listens everywhere, so loopback reaches it. */
function hostForUrl(bind: string): string {
  return bind.startsWith(":") ? `127.0.0.1${bind}` : bind;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => {
    if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
  }, STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

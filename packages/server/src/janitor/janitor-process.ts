/** Runs fsb-janitor as a child process beside local agents (standalone), and stops it by its PID. */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";

const janitorEntry = path.resolve(import.meta.dirname, "../bin/fsb-janitor.ts");
/** A scan in progress finishes its current removal first; that takes well under this. */
const STOP_TIMEOUT_MS = 10_000;

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
  /** More flags, such as --scan-interval. */
  extraArgs?: string[];
  logger: Logger;
}

/** A running janitor child. */
export interface JanitorProcess {
  readonly pid: number;
  /** SIGTERM, then SIGKILL if it has not exited after a while. */
  stop(): Promise<void>;
}

export function startJanitorProcess(options: JanitorProcessOptions): JanitorProcess {
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
  let stopping = false;
  child.once("exit", (code, signal) => {
    if (!stopping) {
      options.logger.warn(
        { code, signal, output: options.outputFile },
        "janitor exited; orphans are not collected",
      );
    }
  });
  options.logger.info({ pid: child.pid, output: options.outputFile }, "janitor started");
  return {
    pid: child.pid ?? 0,
    stop: () => {
      stopping = true;
      return stopChild(child);
    },
  };
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

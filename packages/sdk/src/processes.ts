/** `sandbox.processes` and `sandbox.pty`: start, list, signal and reattach to processes in a sandbox, and open terminals. */

import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ExecRequestSchema } from "@fast-sandbox/api/gen/fastsandbox/v1/process_pb.ts";
import {
  type OutputSinks,
  type ProcessCalls,
  type ProcessExit,
  ProcessHandle,
  type ProcessSignal,
} from "./process-handle.ts";

/** What every process start takes: where it runs and as whom. */
export interface ProcessOptions {
  /** Environment variables, added to the sandbox's. */
  env?: Record<string, string>;
  /** Working directory (absolute); default the sandbox's. */
  cwd?: string;
  /** A uid, `uid:gid`, or a user (and group) name from the image; default the sandbox's user. */
  user?: string;
  /** Kill the process (SIGKILL) after this many milliseconds; its exit then has `timedOut`. */
  timeoutMs?: number;
}

/** Options of {@link SandboxProcesses.start}. */
export interface StartProcessOptions extends ProcessOptions {
  /** Keep stdin open for {@link ProcessHandle.write}. */
  stdin?: boolean;
  /** Output as text (UTF-8, decoded across chunk boundaries). */
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
}

/** Options of {@link SandboxProcesses.attach}. */
export interface AttachOptions {
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
}

/** Options of {@link Pty.create}. */
export interface PtyOptions extends ProcessOptions {
  /** The program; default `["/bin/sh"]`. */
  command?: string[];
  /** Terminal size; default 80×24. */
  cols?: number;
  rows?: number;
  /** The terminal's output, raw bytes (escape sequences included). */
  onData?: (data: Uint8Array) => void;
}

/** A process as {@link SandboxProcesses.list} reports it. */
export interface ProcessSummary {
  processId: string;
  pid: number;
  command: string[];
  tty: boolean;
  startedAt: Date | undefined;
  running: boolean;
  /** Set once it has exited. */
  exitCode: number | undefined;
  /** The signal that killed it, if one did. */
  signal: string;
}

/**
 * The processes of one sandbox, reached as `sandbox.processes`.
 *
 * @example
 * const job = await box.processes.start(["sh", "-c", "sleep 30; echo done"]);
 * console.log(await box.processes.list());     // [{ processId: job.processId, running: true, ... }]
 * await box.processes.kill(job.processId);      // SIGKILL; or kill(id, "SIGTERM")
 * const again = await box.processes.attach(job.processId, { onStdout: (t) => process.stdout.write(t) });
 */
export class SandboxProcesses {
  readonly #calls: ProcessCalls;

  constructor(calls: ProcessCalls) {
    this.#calls = calls;
  }

  /** Starts `command` (argv) and resolves once it runs; output goes to the callbacks. */
  start(command: string[], options: StartProcessOptions = {}): Promise<ProcessHandle> {
    return this.open(command, { ...options, ...(options.stdin ? { stdin: true } : {}) }, textSinks(options));
  }

  /** Every process started in the sandbox: running ones, and exited ones for about a minute. */
  async list(): Promise<ProcessSummary[]> {
    const c = this.#calls;
    const { processes } = await c.unary((signal, timeoutMs) =>
      c.rpc.listProcesses({ name: c.name, namespace: c.namespace }, callOptions(signal, timeoutMs)),
    );
    return processes.map((p) => ({
      processId: p.processId,
      pid: p.pid,
      command: p.command,
      tty: p.tty,
      startedAt: p.startedAt ? timestampDate(p.startedAt) : undefined,
      running: p.running,
      exitCode: p.exitCode,
      signal: p.signal,
    }));
  }

  /** Sends `signal` (default SIGKILL) to a process. */
  async kill(processId: string, signal: ProcessSignal = "SIGKILL"): Promise<void> {
    const c = this.#calls;
    await c.unary((s, timeoutMs) =>
      c.rpc.signalProcess(
        { name: c.name, namespace: c.namespace, processId, signal: String(signal) },
        callOptions(s, timeoutMs),
      ),
    );
  }

  /** Reattaches to a process: the output kept since the last reader (up to 1 MiB), then live output. */
  attach(processId: string, options: AttachOptions = {}): Promise<ProcessHandle> {
    const c = this.#calls;
    const stop = new AbortController();
    const events = c.rpc.attachProcess(
      { name: c.name, namespace: c.namespace, processId },
      { signal: stop.signal },
    );
    return ProcessHandle.open(events, c, textSinks(options), stop);
  }

  /** Starts a process with raw byte sinks; the building block of start, exec and pty. */
  open(
    command: string[],
    options: ProcessOptions & {
      stdin?: boolean;
      tty?: boolean;
      cols?: number;
      rows?: number;
      signal?: AbortSignal;
    },
    sinks: OutputSinks,
  ): Promise<ProcessHandle> {
    const c = this.#calls;
    const stop = new AbortController();
    options.signal?.addEventListener("abort", () => stop.abort(options.signal?.reason), { once: true });
    const request: MessageInitShape<typeof ExecRequestSchema> = {
      name: c.name,
      namespace: c.namespace,
      command,
      env: options.env ?? {},
      cwd: options.cwd ?? "",
      user: options.user ?? "",
      stdin: options.stdin ?? false,
      tty: options.tty ?? false,
      cols: options.cols ?? 0,
      rows: options.rows ?? 0,
      timeoutMs: options.timeoutMs ?? 0,
    };
    return ProcessHandle.open(c.rpc.exec(request, { signal: stop.signal }), c, sinks, stop);
  }
}

/**
 * Terminals in one sandbox, reached as `sandbox.pty`.
 *
 * @example
 * const term = await box.pty.create({ cols: 120, rows: 40, onData: (d) => process.stdout.write(d) });
 * await term.write("stty size\n");   // prints "40 120"
 * await term.resize({ cols: 100, rows: 30 });
 * await term.write("exit 3\n");
 * console.log((await term.wait()).exitCode); // 3
 */
export class Pty {
  readonly #processes: SandboxProcesses;

  constructor(processes: SandboxProcesses) {
    this.#processes = processes;
  }

  /** Starts `command` (default `/bin/sh`) in a new pseudo-terminal; resolves once it runs. */
  create(options: PtyOptions = {}): Promise<ProcessHandle> {
    const { command = ["/bin/sh"], onData, ...rest } = options;
    return this.#processes.open(
      command,
      { ...rest, tty: true, stdin: true },
      onData ? { stdout: onData } : {},
    );
  }
}

/** Text callbacks as byte sinks: each stream decoded as UTF-8, characters split across chunks kept whole. */
export function textSinks(o: {
  onStdout?: (t: string) => void;
  onStderr?: (t: string) => void;
}): OutputSinks {
  const sink = (on: ((t: string) => void) | undefined) => {
    if (!on) return undefined;
    const decoder = new TextDecoder();
    return (data: Uint8Array) => {
      const text = decoder.decode(data, { stream: true });
      if (text) on(text);
    };
  };
  const stdout = sink(o.onStdout);
  const stderr = sink(o.onStderr);
  return { ...(stdout ? { stdout } : {}), ...(stderr ? { stderr } : {}) };
}

export function callOptions(signal: AbortSignal | undefined, timeoutMs: number | undefined) {
  return { ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}) };
}

export type { ProcessExit };

/** A process running in a sandbox, as the SDK hands it out: its output as it comes, input, resize, signals, and its exit. */
import type { Client } from "@connectrpc/connect";
import type { ExecEvent, ProcessService } from "@fast-sandbox/api/gen/fastsandbox/v1/process_pb.ts";
import { FastSandboxError, UnavailableError } from "./errors.ts";

/** Most bytes one SendInput carries (the server's limit); longer input goes in several calls. */
export const MAX_INPUT_CHUNK = 1024 * 1024;

/** Signals {@link ProcessHandle.kill} takes by name; any other by number. */
export type ProcessSignal =
  | "SIGTERM"
  | "SIGKILL"
  | "SIGINT"
  | "SIGHUP"
  | "SIGQUIT"
  | "SIGUSR1"
  | "SIGUSR2"
  | number;

/** How a process ended. A non-zero exit code is a result, never an error. */
export interface ProcessExit {
  /** The exit code; 128+n for a process killed by signal n (137 for SIGKILL), as a shell reports it. */
  exitCode: number;
  /** The signal that killed it (`SIGKILL`, ...); empty when it exited by itself. */
  signal: string;
  /** True when its `timeoutMs` passed and it was killed for it. */
  timedOut: boolean;
}

/** Where a process's output goes, as raw bytes (chunks are not aligned to lines or characters). */
export interface OutputSinks {
  stdout?(data: Uint8Array): void;
  stderr?(data: Uint8Array): void;
  /** On reattach: bytes of output the server dropped while nobody read. */
  dropped?(bytes: number): void;
}

/** The calls a handle makes for its process, with the client's deadlines and error translation. */
export interface ProcessCalls {
  rpc: Client<typeof ProcessService>;
  name: string;
  namespace: string;
  unary<T>(call: (signal: AbortSignal | undefined, timeoutMs: number | undefined) => Promise<T>): Promise<T>;
  translate(err: unknown): FastSandboxError;
}

/**
 * One process: started by `sandbox.processes.start`, `sandbox.pty.create` or reattached with
 * `sandbox.processes.attach`. Its output goes to the sinks it was opened with while the handle reads;
 * {@link wait} resolves with its exit.
 *
 * @example
 * const shell = await box.processes.start(["sh"], { stdin: true, onStdout: (t) => process.stdout.write(t) });
 * await shell.write("echo hi; exit 3\n");
 * const { exitCode } = await shell.wait(); // 3
 */
export class ProcessHandle {
  /** The process's id in its sandbox (what list, kill and attach take). */
  readonly processId: string;
  /** Its pid in the sandbox's PID namespace. */
  readonly pid: number;
  readonly #calls: ProcessCalls;
  readonly #exit: Promise<ProcessExit>;
  readonly #stop: AbortController;

  private constructor(
    started: { processId: string; pid: number },
    calls: ProcessCalls,
    exit: Promise<ProcessExit>,
    stop: AbortController,
  ) {
    this.processId = started.processId;
    this.pid = started.pid;
    this.#calls = calls;
    this.#exit = exit;
    this.#stop = stop;
  }

  /**
   * Reads `events` (an Exec or AttachProcess stream) until `started`, then keeps reading in the
   * background, feeding `sinks`. Rejects with a typed error when the process cannot be started.
   */
  static async open(
    events: AsyncIterable<ExecEvent>,
    calls: ProcessCalls,
    sinks: OutputSinks,
    stop: AbortController,
  ): Promise<ProcessHandle> {
    const it = events[Symbol.asyncIterator]();
    let first: IteratorResult<ExecEvent>;
    try {
      first = await it.next();
    } catch (err) {
      stop.abort();
      throw calls.translate(err);
    }
    const event = first.done ? undefined : first.value.event;
    if (event?.case !== "started") {
      stop.abort();
      throw new UnavailableError("the process stream ended before the process started", {
        code: "unavailable",
      });
    }
    const exit = pump(it, calls, sinks, stop);
    exit.catch(() => {}); // read through wait(); an unobserved failure must not crash the client
    return new ProcessHandle(event.value, calls, exit, stop);
  }

  /** Resolves when the process exits; rejects if its stream breaks first (the sandbox was deleted, ...). */
  wait(): Promise<ProcessExit> {
    return this.#exit;
  }

  /** Writes to the process's stdin (it must have been started with `stdin` or as a terminal). */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let at = 0;
    do {
      const chunk = bytes.subarray(at, at + MAX_INPUT_CHUNK);
      await this.#unary((signal, timeoutMs) =>
        this.#calls.rpc.sendInput({ ...this.#target, data: chunk }, options(signal, timeoutMs)),
      );
      at += MAX_INPUT_CHUNK;
    } while (at < bytes.length);
  }

  /** Closes the process's stdin: it reads end of file. */
  async closeInput(): Promise<void> {
    await this.#unary((signal, timeoutMs) =>
      this.#calls.rpc.closeInput(this.#target, options(signal, timeoutMs)),
    );
  }

  /** Changes the terminal size of a process started as a terminal. */
  async resize(size: { cols: number; rows: number }): Promise<void> {
    await this.#unary((signal, timeoutMs) =>
      this.#calls.rpc.resizePty({ ...this.#target, ...size }, options(signal, timeoutMs)),
    );
  }

  /** Sends a signal (default SIGKILL). */
  async kill(signal: ProcessSignal = "SIGKILL"): Promise<void> {
    await this.#unary((s, timeoutMs) =>
      this.#calls.rpc.signalProcess({ ...this.#target, signal: String(signal) }, options(s, timeoutMs)),
    );
  }

  /** Stops reading the output; the process keeps running and can be reattached. */
  disconnect(): void {
    this.#stop.abort();
  }

  get #target() {
    return { name: this.#calls.name, namespace: this.#calls.namespace, processId: this.processId };
  }

  #unary<T>(
    call: (signal: AbortSignal | undefined, timeoutMs: number | undefined) => Promise<T>,
  ): Promise<T> {
    return this.#calls.unary(call);
  }
}

function options(signal: AbortSignal | undefined, timeoutMs: number | undefined) {
  return { ...(signal ? { signal } : {}), ...(timeoutMs ? { timeoutMs } : {}) };
}

/** Reads the rest of a stream into the sinks; resolves with the exit. */
async function pump(
  it: AsyncIterator<ExecEvent>,
  calls: ProcessCalls,
  sinks: OutputSinks,
  stop: AbortController,
): Promise<ProcessExit> {
  const stopped = (cause?: unknown) =>
    new FastSandboxError("stopped reading the process's output", { code: "cancelled", cause });
  try {
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      const { event } = next.value;
      if (event.case === "stdout") sinks.stdout?.(event.value);
      else if (event.case === "stderr") sinks.stderr?.(event.value);
      else if (event.case === "dropped") sinks.dropped?.(Number(event.value));
      else if (event.case === "exited") {
        stop.abort();
        const { exitCode, signal, timedOut } = event.value;
        return { exitCode, signal, timedOut };
      }
    }
  } catch (err) {
    if (stop.signal.aborted) throw stopped(err);
    stop.abort();
    throw calls.translate(err);
  }
  if (stop.signal.aborted) throw stopped();
  stop.abort();
  throw new UnavailableError("the process stream ended before the process exited", { code: "unavailable" });
}

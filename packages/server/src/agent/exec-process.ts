/**
 * One exec'd process as the agent serves it: its output goes to the one attached reader as fast as
 * that reader takes it (the FIFOs are paused while the reader's buffer is full), or into a bounded
 * buffer while nobody reads; its exit or failure ends the stream.
 */
import { ErrorCode, FsbError, toFsbError } from "@fast-sandbox/api";
import type { ProcessExit } from "../containerd/task-processes.ts";
import type { AgentProcessExit, AgentProcessView } from "./agent-responses.ts";
import { eventLine, outputEvent, replayLines } from "./exec-events.ts";
import { OutputBuffer, type OutputStream } from "./output-buffer.ts";
import { SIGKILL, signalOfExit } from "./process-signals.ts";
import type { LaunchedProcess } from "./sandbox-process.ts";

/** Output kept per process while nobody reads it (contract: 1 MiB); older output is dropped and counted. */
export const MAX_UNREAD_OUTPUT_BYTES = 1024 * 1024;
/**
 * After the exit, how long the output may stay idle before the stream ends without end-of-file: a
 * background child that inherited stdout would otherwise hold the stream open forever.
 */
const EXIT_DRAIN_IDLE_MS = 500;

/** A reader of the NDJSON stream: an HTTP response, in the agent. */
export interface ExecReader {
  write(line: string): boolean;
  end(): void;
  once(event: "drain" | "close", listener: () => void): unknown;
  readonly writableNeedDrain: boolean;
}

/** How the process ended, or why its stream ended without an exit. */
export type ProcessResult = { exit: AgentProcessExit } | { error: FsbError };

/** What the process is, besides its streams. */
export interface ExecProcessInfo {
  processId: string;
  command: string[];
  tty: boolean;
  startedAt: Date;
  timeoutMs: number | undefined;
  /** Why the process's stream must end with an error rather than its exit (its sandbox went away), if so. */
  sandboxFailure: () => FsbError | undefined;
  /** Called once, when the result is known and everything is released. */
  onFinished: () => void;
}

export class ExecProcess {
  readonly info: ExecProcessInfo;
  readonly #launched: LaunchedProcess;
  readonly #buffer = new OutputBuffer(MAX_UNREAD_OUTPUT_BYTES);
  readonly #streams: Array<[NodeJS.ReadableStream & { destroy(): void }, OutputStream]>;
  #reader: ExecReader | undefined;
  #paused = false;
  #open: number;
  #status: ProcessExit | undefined;
  #result: ProcessResult | undefined;
  #timedOut = false;
  #stdinClosed = false;
  #timeout: NodeJS.Timeout | undefined;
  #drainTimer: NodeJS.Timeout | undefined;

  constructor(launched: LaunchedProcess, info: ExecProcessInfo) {
    this.#launched = launched;
    this.info = info;
    this.#streams = [[launched.stdout, "stdout"]];
    if (launched.stderr) this.#streams.push([launched.stderr, "stderr"]);
    this.#open = this.#streams.length;
    for (const [stream, kind] of this.#streams) {
      stream.on("data", (chunk: Buffer) => this.#output(kind, chunk));
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        this.#open -= 1;
        this.#maybeFinish();
      };
      stream.once("end", end);
      stream.once("close", end);
      stream.on("error", end);
    }
    launched.exited.then(
      (status) => this.#exited(status),
      (err: unknown) => this.#finish({ error: info.sandboxFailure() ?? toFsbError(err) }),
    );
    if (info.timeoutMs !== undefined) {
      this.#timeout = setTimeout(() => {
        this.#timedOut = true;
        void launched.kill(SIGKILL).catch(() => {});
      }, info.timeoutMs);
    }
  }

  get pid(): number {
    return this.#launched.pid;
  }

  get running(): boolean {
    return this.#result === undefined;
  }

  get result(): ProcessResult | undefined {
    return this.#result;
  }

  /** Bytes held for a reader that is not there (bounded by {@link MAX_UNREAD_OUTPUT_BYTES}). */
  get bufferedBytes(): number {
    return this.#buffer.size;
  }

  /**
   * Makes `reader` the process's reader: `started`, the output kept since the last reader, then live
   * output and the end. A reader already attached is ended first (one reader at a time).
   */
  attach(reader: ExecReader): void {
    const previous = this.#reader;
    this.#reader = undefined;
    if (previous) endWith(previous, errorLine(new FsbError(ErrorCode.Aborted, "another reader attached")));
    reader.write(eventLine({ started: { processId: this.info.processId, pid: this.pid } }));
    for (const line of replayLines(this.#buffer.take())) reader.write(line);
    if (this.#result) {
      endWith(reader, resultLine(this.#result));
      return;
    }
    this.#reader = reader;
    reader.once("close", () => {
      if (this.#reader !== reader) return;
      // The client went away: keep reading, into the bounded buffer, until someone attaches again.
      this.#reader = undefined;
      this.#resume();
    });
    if (reader.writableNeedDrain) this.#pause(reader);
  }

  /** Writes to the process's stdin. */
  write(data: Buffer): void {
    const stdin = this.#launched.stdin;
    this.#assertRunning();
    if (!stdin) throw this.#precondition(`process ${this.info.processId} was started without stdin`);
    if (this.#stdinClosed) throw this.#precondition(`the stdin of process ${this.info.processId} is closed`);
    if (stdin.writableLength > MAX_UNREAD_OUTPUT_BYTES) {
      throw new FsbError(
        ErrorCode.ResourceExhausted,
        `process ${this.info.processId} is not reading its stdin; ${stdin.writableLength} bytes wait`,
      );
    }
    stdin.write(data);
  }

  /** Closes stdin: the process reads end-of-file. Closing it twice is fine. */
  async closeInput(): Promise<void> {
    this.#assertRunning();
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    await this.#launched.closeStdin();
  }

  async resize(cols: number, rows: number): Promise<void> {
    this.#assertRunning();
    if (!this.info.tty) throw this.#precondition(`process ${this.info.processId} has no terminal`);
    await this.#launched.resize(cols, rows);
  }

  async signal(signal: number): Promise<void> {
    this.#assertRunning();
    await this.#launched.kill(signal);
  }

  /** Ends the stream with `error` now (the sandbox is gone, the agent stops) and releases everything. */
  abort(error: FsbError): void {
    this.#finish({ error });
  }

  view(): AgentProcessView {
    const exit = this.#result && "exit" in this.#result ? this.#result.exit : undefined;
    return {
      processId: this.info.processId,
      pid: this.pid,
      command: this.info.command,
      tty: this.info.tty,
      startedAt: this.info.startedAt.toISOString(),
      running: this.running,
      exitCode: exit?.exitCode ?? null,
      signal: exit?.signal ?? "",
    };
  }

  #output(stream: OutputStream, data: Buffer): void {
    const reader = this.#reader;
    if (reader) {
      if (!reader.write(eventLine(outputEvent({ stream, data })))) this.#pause(reader);
    } else {
      this.#buffer.push(stream, data);
    }
    if (this.#status) this.#armDrain();
  }

  #pause(reader: ExecReader): void {
    if (this.#paused) return;
    this.#paused = true;
    clearTimeout(this.#drainTimer);
    for (const [stream] of this.#streams) stream.pause();
    reader.once("drain", () => {
      if (this.#reader === reader) this.#resume();
    });
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    for (const [stream] of this.#streams) stream.resume();
    if (this.#status) this.#armDrain();
  }

  #exited(status: ProcessExit): void {
    this.#status = status;
    clearTimeout(this.#timeout);
    if (!this.#maybeFinish()) this.#armDrain();
  }

  #armDrain(): void {
    clearTimeout(this.#drainTimer);
    if (this.#paused || this.#result) return;
    this.#drainTimer = setTimeout(() => this.#finishExit(), EXIT_DRAIN_IDLE_MS);
  }

  #maybeFinish(): boolean {
    if (!this.#status || this.#open > 0) return false;
    this.#finishExit();
    return true;
  }

  #finishExit(): void {
    const status = this.#status as ProcessExit;
    const failure = this.info.sandboxFailure();
    const exitCode = status.exitStatus;
    this.#finish(
      failure
        ? { error: failure }
        : { exit: { exitCode, signal: signalOfExit(exitCode), timedOut: this.#timedOut } },
    );
  }

  #finish(result: ProcessResult): void {
    if (this.#result) return;
    this.#result = result;
    clearTimeout(this.#timeout);
    clearTimeout(this.#drainTimer);
    const reader = this.#reader;
    this.#reader = undefined;
    if (reader) endWith(reader, resultLine(result));
    void this.#launched.release().finally(() => this.info.onFinished());
  }

  #assertRunning(): void {
    if (this.#result) throw this.#precondition(`process ${this.info.processId} has exited`);
  }

  #precondition(message: string): FsbError {
    return new FsbError(ErrorCode.FailedPrecondition, message, { field: "processId" });
  }
}

function errorLine(error: FsbError): string {
  return eventLine({ error: { code: error.code, message: error.rawMessage } });
}

function resultLine(result: ProcessResult): string {
  return "exit" in result ? eventLine({ exit: result.exit }) : errorLine(result.error);
}

function endWith(reader: ExecReader, line: string): void {
  reader.write(line);
  reader.end();
}

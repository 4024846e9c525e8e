/** Processes of the in-memory agent: the agent's process routes with scripted processes, for unit tests of the controller. */
import { ErrorCode, type ExecSpec, type ProcessSignalName } from "@fast-sandbox/api";
import { AgentCallError } from "../agent-call-error.ts";
import type { AgentProcessApi, AgentProcessView } from "./agent-process-api.ts";

interface MemoryProcess {
  view: AgentProcessView;
  stdinOpen: boolean;
  /** The open event streams (exec's, attaches'). */
  readers: Set<ReadableStreamDefaultController<Uint8Array>>;
}

/**
 * A process without stdin writes its argv joined by spaces to stdout and exits 0. A process with
 * stdin (or a tty) echoes its input to stdout, like `cat`, until its input is closed (exit 0) or it
 * is signalled (exit 128+n, or 137 for SIGKILL). Streams are NDJSON, as the agent's.
 */
export class MemoryProcesses implements AgentProcessApi {
  readonly #exists: (sandboxId: string) => boolean;
  readonly #processes = new Map<string, MemoryProcess>();
  /** Every call by name, sandbox id and process id, in order. */
  readonly calls: string[] = [];
  /** Errors the next execs throw, first one first. */
  failExecs: Error[] = [];
  #next = 1;

  constructor(exists: (sandboxId: string) => boolean) {
    this.#exists = exists;
  }

  async exec(sandboxId: string, spec: ExecSpec): Promise<ReadableStream<Uint8Array>> {
    this.calls.push(`exec ${sandboxId} ${spec.command.join(" ")}`);
    this.#sandbox(sandboxId);
    const failure = this.failExecs.shift();
    if (failure) throw failure;
    const processId = `p${this.#next++}`;
    const interactive = Boolean(spec.stdin || spec.tty);
    const process: MemoryProcess = {
      view: {
        processId,
        pid: 100 + this.#next,
        command: spec.command,
        tty: spec.tty ?? false,
        startedAt: new Date(0).toISOString(),
        running: true,
        exitCode: null,
        signal: "",
      },
      stdinOpen: interactive,
      readers: new Set(),
    };
    this.#processes.set(`${sandboxId}/${processId}`, process);
    const stream = this.#open(process);
    if (!interactive) {
      this.#emit(process, { stdout: Buffer.from(`${spec.command.join(" ")}\n`).toString("base64") });
      this.#exit(process, 0, "");
    }
    return stream;
  }

  async attachProcess(sandboxId: string, processId: string): Promise<ReadableStream<Uint8Array>> {
    this.calls.push(`attach ${sandboxId} ${processId}`);
    return this.#open(this.#process(sandboxId, processId));
  }

  async sendInput(sandboxId: string, processId: string, data: Uint8Array): Promise<void> {
    this.calls.push(`input ${sandboxId} ${processId} ${Buffer.from(data).toString()}`);
    const process = this.#process(sandboxId, processId);
    if (!process.view.running || !process.stdinOpen) {
      throw refused(ErrorCode.FailedPrecondition, `process ${processId} has exited or has no open stdin`);
    }
    this.#emit(process, { stdout: Buffer.from(data).toString("base64") });
  }

  async closeInput(sandboxId: string, processId: string): Promise<void> {
    this.calls.push(`close-input ${sandboxId} ${processId}`);
    const process = this.#process(sandboxId, processId);
    process.stdinOpen = false;
    if (process.view.running) this.#exit(process, 0, "");
  }

  async resizePty(sandboxId: string, processId: string, size: { cols: number; rows: number }): Promise<void> {
    this.calls.push(`resize ${sandboxId} ${processId} ${size.cols}x${size.rows}`);
    if (!this.#process(sandboxId, processId).view.tty) {
      throw refused(ErrorCode.FailedPrecondition, `process ${processId} has no terminal`);
    }
  }

  async signalProcess(
    sandboxId: string,
    processId: string,
    signal: ProcessSignalName | number,
  ): Promise<void> {
    this.calls.push(`signal ${sandboxId} ${processId} ${signal}`);
    const process = this.#process(sandboxId, processId);
    if (!process.view.running) throw refused(ErrorCode.FailedPrecondition, `process ${processId} has exited`);
    const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
    const n = typeof signal === "number" ? signal : (numbers[signal] ?? 10);
    this.#exit(process, 128 + n, typeof signal === "number" ? `SIG${n}` : signal);
  }

  async listProcesses(sandboxId: string): Promise<AgentProcessView[]> {
    this.#sandbox(sandboxId);
    return [...this.#processes.entries()]
      .filter(([key]) => key.startsWith(`${sandboxId}/`))
      .map(([, p]) => ({ ...p.view }));
  }

  #open(process: MemoryProcess): ReadableStream<Uint8Array> {
    let reader: ReadableStreamDefaultController<Uint8Array> | undefined;
    return new ReadableStream({
      start: (controller) => {
        reader = controller;
        const { processId, pid } = process.view;
        controller.enqueue(line({ started: { processId, pid } }));
        if (process.view.running) process.readers.add(controller);
        else this.#end(controller, process);
      },
      cancel: () => {
        if (reader) process.readers.delete(reader);
      },
    });
  }

  #emit(process: MemoryProcess, event: unknown): void {
    for (const reader of process.readers) reader.enqueue(line(event));
  }

  #exit(process: MemoryProcess, exitCode: number, signal: string): void {
    process.view = { ...process.view, running: false, exitCode, signal };
    for (const reader of process.readers) this.#end(reader, process);
    process.readers.clear();
  }

  #end(reader: ReadableStreamDefaultController<Uint8Array>, process: MemoryProcess): void {
    reader.enqueue(
      line({ exit: { exitCode: process.view.exitCode, signal: process.view.signal, timedOut: false } }),
    );
    reader.close();
  }

  #sandbox(sandboxId: string): void {
    if (!this.#exists(sandboxId)) throw refused(ErrorCode.NotFound, `sandbox ${sandboxId} not found`);
  }

  #process(sandboxId: string, processId: string): MemoryProcess {
    this.#sandbox(sandboxId);
    const process = this.#processes.get(`${sandboxId}/${processId}`);
    if (!process) throw refused(ErrorCode.NotFound, `process ${processId} not found`);
    return process;
  }
}

function line(event: unknown): Uint8Array {
  return Buffer.from(`${JSON.stringify(event)}\n`);
}

function refused(code: ErrorCode, message: string): AgentCallError {
  return new AgentCallError(code, message, { delivery: "answered" });
}

/** A handle on one sandbox: its details plus the operations that concern it. */
import type { Client } from "@connectrpc/connect";
import type { ProcessService } from "@fast-sandbox/api/gen/fastsandbox/v1/process_pb.ts";
import type { CallContext } from "./call-context.ts";
import type { CallOptions } from "./call-options.ts";
import { FastSandboxError, NotFoundError } from "./errors.ts";
import { type ExecOptions, type ExecResult, execIn } from "./exec.ts";
import { type FilesContext, SandboxFiles } from "./files.ts";
import { Pty, SandboxProcesses } from "./processes.ts";
import type { Phase, SandboxDetails } from "./sandbox-info.ts";

/** What a handle needs from its client; kept narrow so the handle stays a plain value plus verbs. */
export interface SandboxOps {
  get(name: string, options: { namespace: string } & CallOptions): Promise<SandboxDetails>;
  delete(name: string, options: { namespace: string } & DeleteOptions): Promise<void>;
  logs(name: string, options: { namespace: string } & LogsOptions): AsyncIterable<string>;
  watchOne(name: string, namespace: string, signal: AbortSignal): AsyncIterable<SandboxDetails | undefined>;
  /** The Process API, for exec, processes and pty. */
  process: CallContext<typeof ProcessService>;
  /** The File API and the streaming file endpoints, for `files`. */
  files: FilesContext;
}

/** Options of {@link Sandbox.waitUntil}. */
export interface WaitOptions extends CallOptions {}

/** Options of {@link Sandbox.delete}. */
export interface DeleteOptions extends CallOptions {
  /** Seconds between SIGTERM and SIGKILL (default: the agent's). */
  gracePeriodSeconds?: number;
  /** Resolve only once the sandbox is gone. */
  wait?: boolean;
}

/** Options of {@link Sandbox.logs}. */
export interface LogsOptions extends CallOptions {
  /** Keep streaming until the process exits (or `signal` aborts). */
  follow?: boolean;
  /** Start this many lines before the end. */
  tailLines?: number;
}

/**
 * A sandbox as returned by create, get and list.
 *
 * @example
 * const box = await fsb.sandboxes.create({ name: "web", image: "busybox", command: ["httpd", "-f"] });
 * console.log(box.name, box.id, box.endpoints);
 * for await (const text of box.logs({ follow: true })) process.stdout.write(text);
 * const { exitCode, stdout } = await box.exec("ls /");
 * await box.delete();
 */
export class Sandbox {
  /** The details as of the last call that returned them (see {@link refresh}). */
  details: SandboxDetails;
  /** False when a create found this sandbox already existing with the same spec. */
  readonly created: boolean;
  readonly #ops: SandboxOps;

  constructor(details: SandboxDetails, ops: SandboxOps, created = true) {
    this.details = details;
    this.#ops = ops;
    this.created = created;
  }

  get name(): string {
    return this.details.name;
  }
  get namespace(): string {
    return this.details.namespace;
  }
  /** The current container's id (changes on recreate and reset). */
  get id(): string {
    return this.details.id;
  }
  get phase(): Phase {
    return this.details.phase;
  }
  get endpoints(): string[] {
    return this.details.endpoints;
  }
  get agent(): string {
    return this.details.agent;
  }

  /**
   * Runs a command in the sandbox (which must be Running) and resolves with its exit code and
   * output. A string runs through `/bin/sh -c`; an array is the argv. A non-zero exit is a result;
   * only a failure to run (no such sandbox or program, the sandbox not Running) throws.
   *
   * @example
   * const { exitCode, stdout, stderr } = await box.exec(["python3", "-c", "print(6*7)"]);
   * const r = await box.exec("cat > /tmp/in; wc -c < /tmp/in", { stdin: "hello", timeoutMs: 5000 });
   * await box.exec("make", { cwd: "/src", env: { CC: "clang" }, onStdout: (t) => process.stdout.write(t) });
   */
  exec(command: string | string[], options: ExecOptions = {}): Promise<ExecResult> {
    return execIn(this.processes, command, options);
  }

  /** Processes in the sandbox: start, list, kill, attach. */
  get processes(): SandboxProcesses {
    const c = this.#ops.process;
    return new SandboxProcesses({
      rpc: c.rpc as Client<typeof ProcessService>,
      name: this.name,
      namespace: this.namespace,
      unary: (call) => c.unary({}, call),
      translate: (err) => c.translate(err),
    });
  }

  /**
   * The sandbox's files: read, write, list, stat, mkdir, remove, move, and streaming upload/download.
   *
   * @example
   * await box.files.write("/tmp/hello.txt", "hi\n");
   * const { files } = await box.files.list("/tmp");
   */
  get files(): SandboxFiles {
    return new SandboxFiles(this.#ops.files, this.name, this.namespace);
  }

  /** Terminals in the sandbox. */
  get pty(): Pty {
    return new Pty(this.processes);
  }

  /** Reloads the details from the server. */
  async refresh(options: CallOptions = {}): Promise<this> {
    this.details = await this.#ops.get(this.name, { namespace: this.namespace, ...options });
    return this;
  }

  /** Deletes the sandbox; with `wait`, resolves once it is gone. */
  delete(options: DeleteOptions = {}): Promise<void> {
    return this.#ops.delete(this.name, { namespace: this.namespace, ...options });
  }

  /** Its output (stdout and stderr as written), as text chunks. */
  logs(options: LogsOptions = {}): AsyncIterable<string> {
    return this.#ops.logs(this.name, { namespace: this.namespace, ...options });
  }

  /**
   * Resolves when the sandbox reaches `phase` (or `until` holds), watching rather than polling.
   * Rejects with a NotFoundError if it does not exist or is deleted first, and on timeout.
   */
  async waitUntil(
    phase: Phase | ((details: SandboxDetails) => boolean),
    options: WaitOptions = {},
  ): Promise<this> {
    const done = typeof phase === "function" ? phase : (d: SandboxDetails) => d.phase === phase;
    if (done(this.details)) return this;
    const abort = new AbortController();
    const signals = [abort.signal, ...(options.signal ? [options.signal] : [])];
    if (options.timeoutMs !== undefined) signals.push(AbortSignal.timeout(options.timeoutMs));
    const signal = AbortSignal.any(signals);
    const target = typeof phase === "string" ? phase : "the awaited state";
    // The watch ends quietly when its signal aborts; tell a timeout or a cancel apart from a broken stream.
    const stopped = (cause?: unknown): FastSandboxError =>
      options.signal?.aborted
        ? new FastSandboxError(`waiting for sandbox ${this.name} was cancelled`, { code: "cancelled", cause })
        : new FastSandboxError(`sandbox ${this.name} did not reach ${target} in time`, {
            code: "deadline_exceeded",
            cause,
          });
    try {
      for await (const details of this.#ops.watchOne(this.name, this.namespace, signal)) {
        if (!details)
          throw new NotFoundError(`sandbox ${this.namespace}/${this.name} was deleted`, {
            code: "not_found",
          });
        this.details = details;
        if (done(details)) return this;
      }
      if (signal.aborted) throw stopped();
    } catch (err) {
      if (err instanceof FastSandboxError) throw err;
      if (signal.aborted && !abort.signal.aborted) throw stopped(err);
      throw err;
    } finally {
      abort.abort();
    }
    throw new FastSandboxError(`watch of sandbox ${this.name} ended early`, { code: "unavailable" });
  }
}

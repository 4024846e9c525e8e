/** Processes inside the agent's sandboxes: exec with streams, attach, input, resize, signals, and runInSandbox. */
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import type { Logger } from "pino";
import { execProcessSpec } from "../containerd/exec-process-spec.ts";
import type { OciProcess } from "../containerd/oci-spec.ts";
import type { TaskProcesses } from "../containerd/task-processes.ts";
import type { AgentProcessView } from "./agent-responses.ts";
import type { FifoMaker } from "./exec-fifos.ts";
import { ExecProcess } from "./exec-process.ts";
import { SIGKILL, signalOfExit } from "./process-signals.ts";
import { ProcessTable } from "./process-table.ts";
import { type ProcessUser, parseUserRequest, resolveUser } from "./process-user.ts";
import { type LaunchedProcess, launchProcess } from "./sandbox-process.ts";
import type { AgentSandboxPhase } from "./sandbox-spec.ts";
import { BUSYBOX_IN_SANDBOX } from "./sandbox-tools.ts";

/** Exited processes are kept this long for late readers (contract: about a minute). */
export const KEEP_EXITED_MS = 60_000;
/** The image's /etc/passwd is read up to this size; a larger one is not a real passwd file. */
const MAX_PASSWD_BYTES = 1024 * 1024;

/** The agent's sandboxes as the engine needs them. */
export interface SandboxLookup {
  get(sandboxId: string): { containerId: string; phase: AgentSandboxPhase } | undefined;
  onExit(listener: (sandboxId: string) => void): () => void;
}

/** A process to start, as the exec route parsed it. */
export interface ExecRequest {
  sandboxId: string;
  command: string[];
  env?: Record<string, string> | undefined;
  cwd?: string | undefined;
  user?: string | undefined;
  tty?: { cols: number; rows: number } | undefined;
  stdin: boolean;
  timeoutMs?: number | undefined;
}

/** Options of {@link ExecEngine.runInSandbox}. */
export interface RunInSandboxOptions {
  /** Piped to the process's stdin, then closed; without it the process reads /dev/null. */
  stdin?: Readable;
  user?: string;
  /** Aborting kills the process (SIGKILL). */
  signal?: AbortSignal;
}

/** A helper process started by {@link ExecEngine.runInSandbox}: read both streams, or the process may block. */
export interface SandboxRun {
  stdout: Readable;
  stderr: Readable;
  exit: Promise<{ exitCode: number; signal: string }>;
}

/** Options of {@link ExecEngine}. */
export interface ExecEngineOptions {
  processes: TaskProcesses;
  fifos: FifoMaker;
  sandboxes: SandboxLookup;
  /** Running processes per sandbox (`--max-processes`). */
  maxProcesses: number;
  logger: Logger;
  /**
   * Marks a command starting in a sandbox as work in flight until the returned function is called
   * (the prewarm worker's hold): a container create beside a first command doubles its time here.
   */
  busy?: () => () => void;
}

/** A long-running process holds the prewarm worker only this long; a short one until it exits. */
const BUSY_MAX_MS = 1000;

export class ExecEngine {
  readonly #processes: TaskProcesses;
  readonly #fifos: FifoMaker;
  readonly #sandboxes: SandboxLookup;
  readonly #log: Logger;
  readonly #table: ProcessTable<ExecProcess>;
  readonly #busy: (() => () => void) | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: ExecEngineOptions) {
    this.#processes = options.processes;
    this.#fifos = options.fifos;
    this.#sandboxes = options.sandboxes;
    this.#log = options.logger.child({ component: "exec" });
    this.#busy = options.busy;
    this.#table = new ProcessTable({
      maxRunning: options.maxProcesses,
      maxKeptExited: options.maxProcesses,
      keepExitedMs: KEEP_EXITED_MS,
    });
  }

  /** Processes running now, all sandboxes together. */
  get runningCount(): number {
    return this.#table.all().filter((p) => p.running).length;
  }

  /** Output held for readers that are not attached, all processes together. */
  get bufferedBytes(): number {
    return this.#table.all().reduce((sum, p) => sum + p.bufferedBytes, 0);
  }

  /** Clears FIFOs an earlier run left, and follows sandbox exits and deletes. */
  async start(): Promise<void> {
    await this.#fifos.prepare();
    this.#unsubscribe ??= this.#sandboxes.onExit((id) => this.#sandboxChanged(id));
  }

  /**
   * Ends every stream with UNAVAILABLE and kills the processes: their output runs through this
   * agent's FIFOs, so no later run of the agent could serve them.
   */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    const running = this.#table.all().filter((p) => p.running);
    await Promise.allSettled(running.map((p) => p.signal(SIGKILL)));
    for (const p of running) p.abort(new FsbError(ErrorCode.Unavailable, "the agent is stopping"));
    await this.#fifos.removeAll();
  }

  /** Starts a process; throws before any output for a bad request, a missing command or a full sandbox. */
  async exec(request: ExecRequest): Promise<ExecProcess> {
    const { sandboxId } = request;
    const containerId = this.#runningContainer(sandboxId);
    const release = this.#table.reserve(sandboxId);
    const idle = this.#markBusy();
    try {
      const user = request.user === undefined ? undefined : await this.#user(sandboxId, request.user);
      const base = await this.#processes.containerProcess(containerId);
      const spec = execProcessSpec(base, {
        args: request.command,
        ...(request.env ? { env: request.env } : {}),
        ...(request.cwd ? { cwd: request.cwd } : {}),
        ...(user ? { user } : {}),
        ...(request.tty ? { terminal: request.tty } : {}),
      });
      const processId = newProcessId();
      const launched = await this.#launch(containerId, processId, spec, request.stdin);
      const process = new ExecProcess(launched, {
        processId,
        command: request.command,
        tty: request.tty !== undefined,
        startedAt: new Date(),
        timeoutMs: request.timeoutMs,
        sandboxFailure: () => this.#sandboxFailure(sandboxId),
        onFinished: () => this.#table.exited(sandboxId, processId),
      });
      this.#table.add(sandboxId, processId, process);
      this.#log.debug({ sandboxId, processId, pid: launched.pid }, "process started");
      launched.exited.then(idle, idle);
      return process;
    } catch (err) {
      idle();
      throw err;
    } finally {
      release();
    }
  }

  /** Holds the prewarm worker for a starting command; the returned function (idempotent) lets go. */
  #markBusy(): () => void {
    const release = this.#busy?.();
    if (!release) return () => {};
    const timer = setTimeout(release, BUSY_MAX_MS);
    timer.unref();
    return () => {
      clearTimeout(timer);
      release();
    };
  }

  /** A process of a sandbox; NOT_FOUND for an unknown sandbox or process. */
  find(sandboxId: string, processId: string): ExecProcess {
    return this.#process(sandboxId, processId);
  }

  input(sandboxId: string, processId: string, data: Buffer): void {
    this.#process(sandboxId, processId).write(data);
  }

  closeInput(sandboxId: string, processId: string): Promise<void> {
    return this.#process(sandboxId, processId).closeInput();
  }

  resize(sandboxId: string, processId: string, cols: number, rows: number): Promise<void> {
    return this.#process(sandboxId, processId).resize(cols, rows);
  }

  signal(sandboxId: string, processId: string, signal: number): Promise<void> {
    return this.#process(sandboxId, processId).signal(signal);
  }

  list(sandboxId: string): AgentProcessView[] {
    this.#known(sandboxId);
    return this.#table.list(sandboxId).map((p) => p.view());
  }

  /**
   * Runs a helper (e.g. `/.fsb/busybox` with arguments) inside a running sandbox's root and
   * namespaces, streaming its stdio. Not counted against the process cap and never listed.
   */
  async runInSandbox(
    sandboxId: string,
    argv: string[],
    options: RunInSandboxOptions = {},
  ): Promise<SandboxRun> {
    const containerId = this.#runningContainer(sandboxId);
    options.signal?.throwIfAborted();
    const user = options.user === undefined ? undefined : await this.#user(sandboxId, options.user);
    const base = await this.#processes.containerProcess(containerId);
    const spec = execProcessSpec(base, { args: argv, ...(user ? { user } : {}) });
    const launched = await this.#launch(
      containerId,
      `run-${randomBytes(6).toString("hex")}`,
      spec,
      !!options.stdin,
    );
    return runOf(launched, options);
  }

  async #launch(
    containerId: string,
    execId: string,
    spec: OciProcess,
    stdin: boolean,
  ): Promise<LaunchedProcess> {
    try {
      return await launchProcess(
        { processes: this.#processes, fifos: this.#fifos },
        { containerId, execId, spec, stdin },
      );
    } catch (err) {
      // The task layer names a missing program as an invalid `command`; here the request is fine and
      // the image lacks it.
      if (err instanceof FsbError && err.field === "command") {
        throw new FsbError(ErrorCode.FailedPrecondition, err.rawMessage, { cause: err, field: "command" });
      }
      throw err;
    }
  }

  /** Resolves `user` (a name through the image's /etc/passwd, read inside the sandbox). */
  async #user(sandboxId: string, user: string): Promise<ProcessUser> {
    const request = parseUserRequest(user);
    if ("uid" in request) return resolveUser(request, undefined);
    return resolveUser(request, await this.#readPasswd(sandboxId));
  }

  async #readPasswd(sandboxId: string): Promise<string | undefined> {
    const run = await this.runInSandbox(sandboxId, [BUSYBOX_IN_SANDBOX, "cat", "/etc/passwd"]);
    run.stderr.resume();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of run.stdout as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= MAX_PASSWD_BYTES) chunks.push(chunk);
    }
    const { exitCode } = await run.exit;
    return exitCode === 0 ? Buffer.concat(chunks).toString("utf8") : undefined;
  }

  #process(sandboxId: string, processId: string): ExecProcess {
    this.#known(sandboxId);
    return this.#table.get(sandboxId, processId);
  }

  #known(sandboxId: string): void {
    if (!this.#sandboxes.get(sandboxId)) {
      throw new FsbError(ErrorCode.NotFound, `sandbox ${sandboxId} not found on this agent`, {
        field: "sandboxId",
      });
    }
  }

  #runningContainer(sandboxId: string): string {
    const sandbox = this.#sandboxes.get(sandboxId);
    if (!sandbox) {
      throw new FsbError(ErrorCode.NotFound, `sandbox ${sandboxId} not found on this agent`, {
        field: "sandboxId",
      });
    }
    if (sandbox.phase !== "Running") {
      throw new FsbError(
        ErrorCode.FailedPrecondition,
        `sandbox ${sandboxId} is ${sandbox.phase}, not Running`,
        { field: "sandboxId" },
      );
    }
    return sandbox.containerId;
  }

  /** Why a sandbox's processes cannot end normally: it is being deleted or gone, or its main process exited. */
  #sandboxFailure(sandboxId: string): FsbError | undefined {
    const sandbox = this.#sandboxes.get(sandboxId);
    if (!sandbox || sandbox.phase === "Deleting") {
      return new FsbError(ErrorCode.NotFound, `sandbox ${sandboxId} was deleted while the process ran`);
    }
    if (sandbox.phase === "Exited") {
      return new FsbError(ErrorCode.Unavailable, `the main process of sandbox ${sandboxId} exited`);
    }
    return undefined;
  }

  #sandboxChanged(sandboxId: string): void {
    const failure = this.#sandboxFailure(sandboxId);
    if (!failure) return;
    const gone = !this.#sandboxes.get(sandboxId);
    const processes = gone ? this.#table.removeSandbox(sandboxId) : this.#table.list(sandboxId);
    for (const p of processes) p.abort(failure);
  }
}

/** Process ids: short, URL-safe, and valid as containerd exec ids. */
function newProcessId(): string {
  return `p-${randomBytes(6).toString("hex")}`;
}

function runOf(launched: LaunchedProcess, options: RunInSandboxOptions): SandboxRun {
  const { signal } = options;
  const kill = () => {
    void launched.kill(SIGKILL).catch(() => {});
    // A child the killed process leaves behind (the `cat` of a write script) still reads the input
    // and holds the output pipes open, so the run would never end: once the process is gone, its
    // input is ended too, and the child ends on it. The script is dead by then, so nothing it would
    // have done after the child (a rename into place) happens.
    void launched.exited.catch(() => {}).finally(() => launched.closeStdin().catch(() => {}));
  };
  signal?.addEventListener("abort", kill, { once: true });
  if (options.stdin && launched.stdin) {
    options.stdin.pipe(launched.stdin, { end: false });
    options.stdin.once("end", () => void launched.closeStdin().catch(() => {}));
    options.stdin.once("error", kill);
  }
  const stderr = launched.stderr as Readable;
  const exit = launched.exited.then((status) => ({
    exitCode: status.exitStatus,
    signal: signalOfExit(status.exitStatus),
  }));
  exit.catch(() => {});
  // Released once the reader has had all the output (or the streams broke) and the process is gone.
  void Promise.allSettled([exit, finished(launched.stdout), finished(stderr)]).then(() => {
    signal?.removeEventListener("abort", kill);
    return launched.release();
  });
  return { stdout: launched.stdout, stderr, exit };
}

function finished(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded || stream.destroyed) return resolve();
    stream.once("close", () => resolve());
    stream.once("end", () => resolve());
  });
}

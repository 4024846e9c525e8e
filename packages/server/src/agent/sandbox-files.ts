/**
 * File operations inside a sandbox: each one is a busybox process started in the sandbox through
 * runInSandbox (its root, its mount namespace, its user; gVisor's own kernel there), so the
 * sandbox's kernel resolves every path and symlink and no path is ever resolved on the host.
 * Contents stream through with backpressure: nothing holds a whole file.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { FileLimits } from "@fast-sandbox/api";
import type { RunInSandboxOptions, SandboxRun } from "./exec-engine.ts";
import {
  type FileEntry,
  fileFailure,
  ListParser,
  listArgv,
  mkdirArgv,
  moveArgv,
  parentOf,
  parseStatLine,
  readArgv,
  removeArgv,
  removeTemporaryArgv,
  statArgv,
  tarCreateArgv,
  tarExtractArgv,
  writeArgv,
} from "./file-commands.ts";

/** What the file operations need of the exec engine. */
export interface SandboxRunner {
  runInSandbox(sandboxId: string, argv: string[], options?: RunInSandboxOptions): Promise<SandboxRun>;
}

/** Enough of a command's stderr to classify its failure; a command printing more is cut off here. */
const MAX_STDERR_BYTES = 64 * 1024;
/** A stat line is a few dozen bytes; anything more is not stat's output. */
const MAX_STAT_BYTES = 4096;

export interface ListResult {
  entries: FileEntry[];
  /** More entries were below the path than {@link FileLimits.maxListEntries}. */
  truncated: boolean;
}

export interface WriteOptions {
  /** Make missing parent directories. */
  parents: boolean;
  /** Permission bits; undefined keeps a replaced file's mode (644 for a new file). */
  mode: number | undefined;
  signal?: AbortSignal | undefined;
}

export class SandboxFiles {
  readonly #runner: SandboxRunner;

  constructor(runner: SandboxRunner) {
    this.#runner = runner;
  }

  async stat(sandboxId: string, path: string): Promise<FileEntry> {
    const out = await this.#run(sandboxId, statArgv(path), "stat", path, MAX_STAT_BYTES);
    return parseStatLine(out.toString("utf8"), path);
  }

  /** The entries below a directory, `depth` levels deep, sorted by path. */
  async list(sandboxId: string, path: string, depth: number): Promise<ListResult> {
    const abort = new AbortController();
    const run = await this.#runner.runInSandbox(sandboxId, listArgv(path, depth), { signal: abort.signal });
    const stderr = collect(run.stderr, MAX_STDERR_BYTES);
    const parser = new ListParser(path);
    const entries: FileEntry[] = [];
    let truncated = false;
    for await (const chunk of run.stdout as AsyncIterable<Buffer>) {
      if (truncated) continue;
      entries.push(...parser.push(chunk));
      if (entries.length > FileLimits.maxListEntries) {
        truncated = true;
        entries.length = FileLimits.maxListEntries;
        abort.abort();
      }
    }
    const { exitCode } = await run.exit;
    if (!truncated && exitCode !== 0) throw fileFailure("list", path, (await stderr).toString("utf8"));
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { entries, truncated };
  }

  async mkdir(sandboxId: string, path: string, parents: boolean, mode: number | undefined): Promise<void> {
    await this.#run(sandboxId, mkdirArgv(path, parents, mode), "mkdir", path, 0);
  }

  async remove(sandboxId: string, path: string, recursive: boolean): Promise<void> {
    await this.#run(sandboxId, removeArgv(path, recursive), "remove", path, 0);
  }

  async move(sandboxId: string, from: string, to: string): Promise<void> {
    await this.#run(sandboxId, moveArgv(from, to), "move", `${from} to ${to}`, 0, "from");
  }

  /** The file's bytes; throws (NOT_FOUND, FAILED_PRECONDITION for a directory, ...) before the first byte. */
  read(sandboxId: string, path: string, signal?: AbortSignal): Promise<Readable> {
    return this.#stream(sandboxId, readArgv(path), "read", path, signal);
  }

  /** A tar stream of the path (directory or file), its top entry named as the path's last part. */
  async readTar(sandboxId: string, path: string, signal?: AbortSignal): Promise<Readable> {
    // tar writes its end blocks even for a missing path, so that is asked first.
    await this.stat(sandboxId, path);
    return this.#stream(sandboxId, tarCreateArgv(path), "archive", path, signal);
  }

  /** Writes `content` to the path through a temporary file renamed into place once complete. */
  async write(sandboxId: string, path: string, content: Readable, options: WriteOptions): Promise<void> {
    const temporary = `${parentOf(path) === "/" ? "" : parentOf(path)}/.fsb-upload-${randomBytes(8).toString("hex")}`;
    const argv = writeArgv({ path, temporary, parents: options.parents, mode: options.mode });
    try {
      await this.#feed(sandboxId, argv, content, "write", path, options.signal);
    } catch (err) {
      // Whatever failed, the temporary goes. A cut-off upload killed the script before its own
      // cleanup could run, and how the cut shows first (the abort, the end of the body, or a script
      // that failed on a broken pipe) depends on timing, so no failure is trusted to have cleaned up.
      await this.#run(sandboxId, removeTemporaryArgv(temporary), "clean up", path, 0).catch(() => {});
      throw err;
    }
  }

  /** Extracts a tar stream into a directory (made as needed). */
  writeTar(sandboxId: string, dir: string, content: Readable, signal?: AbortSignal): Promise<void> {
    return this.#feed(sandboxId, tarExtractArgv(dir), content, "extract into", dir, signal);
  }

  /** Runs a command to its end; its stdout (up to `maxStdout` bytes), or its failure classified. */
  async #run(
    sandboxId: string,
    argv: string[],
    op: string,
    path: string,
    maxStdout: number,
    field = "path",
  ): Promise<Buffer> {
    const run = await this.#runner.runInSandbox(sandboxId, argv);
    const [stdout, stderr, { exitCode }] = await Promise.all([
      collect(run.stdout, maxStdout),
      collect(run.stderr, MAX_STDERR_BYTES),
      run.exit,
    ]);
    if (exitCode !== 0) throw fileFailure(op, path, stderr.toString("utf8"), field);
    return stdout;
  }

  async #feed(
    sandboxId: string,
    argv: string[],
    content: Readable,
    op: string,
    path: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const run = await this.#runner.runInSandbox(sandboxId, argv, {
      stdin: content,
      ...(signal ? { signal } : {}),
    });
    const [stderr, { exitCode }] = await Promise.all([
      collect(run.stderr, MAX_STDERR_BYTES),
      run.exit,
      collect(run.stdout, 0),
    ]);
    signal?.throwIfAborted();
    if (exitCode !== 0) throw fileFailure(op, path, stderr.toString("utf8"));
  }

  /**
   * Starts a command whose stdout is the answer. Waits for its first byte or its exit, so a
   * failure before any output (a missing file) is an error answer; a failure after the first byte
   * errors the stream (the HTTP answer is then cut off, which the client sees as a failed transfer).
   */
  async #stream(
    sandboxId: string,
    argv: string[],
    op: string,
    path: string,
    signal: AbortSignal | undefined,
  ): Promise<Readable> {
    const run = await this.#runner.runInSandbox(sandboxId, argv, signal ? { signal } : {});
    const stderr = collect(run.stderr, MAX_STDERR_BYTES);
    const failure = async () => fileFailure(op, path, (await stderr).toString("utf8"));
    await Promise.race([readableOrEnded(run.stdout), run.exit]);
    // No byte yet: the output ended or the process exited, so its exit decides.
    if (run.stdout.readableLength === 0 && (await run.exit).exitCode !== 0) {
      run.stdout.resume();
      throw await failure();
    }
    return Readable.from(checkedOutput(run, failure), { objectMode: false });
  }
}

/** The output, then an error instead of a clean end when the command failed. */
async function* checkedOutput(run: SandboxRun, failure: () => Promise<Error>): AsyncGenerator<Buffer> {
  for await (const chunk of run.stdout as AsyncIterable<Buffer>) yield chunk;
  if ((await run.exit).exitCode !== 0) throw await failure();
}

function readableOrEnded(stream: Readable): Promise<void> {
  if (stream.readableLength > 0 || stream.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off("readable", done);
      stream.off("end", done);
      stream.off("close", done);
      resolve();
    };
    stream.once("readable", done);
    stream.once("end", done);
    stream.once("close", done);
  });
}

/** Reads a stream to its end, keeping its first `max` bytes. */
async function collect(stream: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (size < max) chunks.push(chunk.subarray(0, max - size));
    size += chunk.length;
  }
  return Buffer.concat(chunks);
}

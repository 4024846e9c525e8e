/** Streams a sandbox's persisted log file, and with `follow` keeps streaming until the sandbox exits. */
import { type FileHandle, open } from "node:fs/promises";
import type { Writable } from "node:stream";

/** How often a follower looks for new output when no exit has been signalled. */
const POLL_INTERVAL_MS = 100;
const CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/** Options of {@link streamLog}. */
export interface StreamLogOptions {
  path: string;
  follow: boolean;
  /**
   * True once the sandbox's process has exited (or the sandbox is gone): the follower then reads to
   * the end of the file and ends. Checked before each read, so whatever was written by then is sent.
   */
  finished: () => boolean;
  /** Aborts when the client leaves. */
  signal: AbortSignal;
  /** Resolves early when something may have changed (an exit), to cut the poll short. */
  wake?: (resolve: () => void) => () => void;
  /** Start this many lines before the current end instead of at the beginning. */
  tailLines?: number;
}

/**
 * Copies the log to `out` from the start. Without follow it stops at the end the file had when it
 * was opened (so a tail of N lines is N lines, whatever the process writes meanwhile); with follow
 * it waits for more until `finished()` holds, then copies the rest and stops.
 */
export async function streamLog(out: Writable, options: StreamLogOptions): Promise<void> {
  // No output yet without a file: the shim creates it on the first write. Once open, the file is
  // kept open, so what it holds stays readable after a delete removes or renames it.
  let file = await openIfThere(options.path);
  const buffer = Buffer.alloc(CHUNK_BYTES);
  const size = file ? (await file.stat()).size : 0;
  const end = options.follow ? Number.POSITIVE_INFINITY : size;
  let position =
    file && options.tailLines !== undefined ? await tailOffset(file, buffer, options.tailLines, size) : 0;
  try {
    for (;;) {
      if (options.signal.aborted) return;
      const done = !options.follow || options.finished();
      file ??= await openIfThere(options.path).catch(() => undefined);
      if (file) {
        for (;;) {
          const length = Math.min(CHUNK_BYTES, end - position);
          if (length <= 0) break;
          const { bytesRead } = await file.read(buffer, 0, length, position);
          if (bytesRead === 0) break;
          position += bytesRead;
          if (!out.write(Buffer.from(buffer.subarray(0, bytesRead)))) await drained(out, options.signal);
          if (options.signal.aborted) return;
        }
      }
      if (done) return;
      await pause(options);
    }
  } finally {
    await file?.close();
  }
}

function openIfThere(path: string): Promise<FileHandle | undefined> {
  return open(path, "r").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
}

function pause(options: StreamLogOptions): Promise<void> {
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      unsubscribe?.();
      options.signal.removeEventListener("abort", finish);
      resolve();
    };
    const timer = setTimeout(finish, POLL_INTERVAL_MS);
    const unsubscribe = options.wake?.(finish);
    options.signal.addEventListener("abort", finish, { once: true });
  });
}

function drained(out: Writable, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const finish = () => {
      out.off("drain", finish);
      signal.removeEventListener("abort", finish);
      resolve();
    };
    out.once("drain", finish);
    signal.addEventListener("abort", finish, { once: true });
  });
}

/**
 * The offset where the last `lines` lines of the file's first `size` bytes begin, found by reading
 * backwards in chunks, so a tail of a large log costs what the tail costs. A final newline does not
 * start an empty last line.
 */
export async function tailOffset(
  file: FileHandle,
  buffer: Buffer,
  lines: number,
  size: number,
): Promise<number> {
  if (lines <= 0) return size;
  let newlines = 0;
  let end = size;
  while (end > 0) {
    const length = Math.min(buffer.length, end);
    const start = end - length;
    await file.read(buffer, 0, length, start);
    for (let i = length - 1; i >= 0; i--) {
      if (buffer[i] !== NEWLINE || start + i === size - 1) continue;
      newlines += 1;
      if (newlines === lines) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

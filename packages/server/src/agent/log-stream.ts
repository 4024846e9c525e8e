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
  /** True once the sandbox's process has exited (or the sandbox is gone): the follower then drains and ends. */
  finished: () => boolean;
  /** Aborts when the client leaves. */
  signal: AbortSignal;
  /** Resolves early when something may have changed (an exit), to cut the poll short. */
  wake?: (resolve: () => void) => () => void;
  /** Start this many lines before the current end instead of at the beginning. */
  tailLines?: number;
}

/**
 * Copies the log to `out` from the start. Without follow it stops at the current end; with follow
 * it waits for more until `finished()` holds, then copies the rest and stops.
 */
export async function streamLog(out: Writable, options: StreamLogOptions): Promise<void> {
  const file = await open(options.path, "r").catch((err: NodeJS.ErrnoException) => {
    // No output yet: the shim creates the file on the first write.
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  const buffer = Buffer.alloc(CHUNK_BYTES);
  let position =
    file && options.tailLines !== undefined ? await tailOffset(file, buffer, options.tailLines) : 0;
  try {
    for (;;) {
      if (options.signal.aborted) return;
      const done = !options.follow || options.finished();
      const handle = file ?? (await open(options.path, "r").catch(() => undefined));
      if (handle) {
        for (;;) {
          const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, position);
          if (bytesRead === 0) break;
          position += bytesRead;
          if (!out.write(Buffer.from(buffer.subarray(0, bytesRead)))) await drained(out, options.signal);
          if (options.signal.aborted) return;
        }
        if (handle !== file) await handle.close();
      }
      if (done) return;
      await pause(options);
    }
  } finally {
    await file?.close();
  }
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
 * The offset where the last `lines` lines begin, found by reading backwards in chunks, so a tail
 * of a large log costs what the tail costs. A final newline does not start an empty last line.
 */
export async function tailOffset(file: FileHandle, buffer: Buffer, lines: number): Promise<number> {
  const { size } = await file.stat();
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

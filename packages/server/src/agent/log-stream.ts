/** Streams a sandbox's persisted log file, and with `follow` keeps streaming until the sandbox exits. */
import { open } from "node:fs/promises";
import type { Writable } from "node:stream";

/** How often a follower looks for new output when no exit has been signalled. */
const POLL_INTERVAL_MS = 100;
const CHUNK_BYTES = 64 * 1024;

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
  let position = 0;
  const buffer = Buffer.alloc(CHUNK_BYTES);
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

/** The terminal side of `fsb-ctl exec`: stdin to the process, raw mode and resizes for -t, signals forwarded. */
import type { ProcessHandle } from "@fast-sandbox/sdk";
import type { CliIo } from "./cli-context.ts";

/** A terminal stdin, as Node's tty.ReadStream has it. */
interface TtyIn {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?(raw: boolean): unknown;
}

/** A terminal stdout's size, when stdout is one. */
export function terminalSize(io: CliIo): { cols: number; rows: number } | undefined {
  const out = io.stdout as { columns?: number; rows?: number; isTTY?: boolean };
  return out.isTTY && out.columns && out.rows ? { cols: out.columns, rows: out.rows } : undefined;
}

/**
 * Puts a terminal stdin in raw mode (keys, Ctrl-C included, go to the process as bytes, as with
 * `docker exec -it`); returns the undo, which restores the mode it found.
 */
export function rawMode(io: CliIo): () => void {
  const stdin = io.stdin as TtyIn;
  if (!stdin.isTTY || !stdin.setRawMode) return () => {};
  const was = stdin.isRaw === true;
  stdin.setRawMode(true);
  return () => void stdin.setRawMode?.(was);
}

/**
 * Copies stdin to the process, one chunk at a time (stdin is paused while a chunk is being sent, so
 * a fast producer never piles up in memory), then closes the process's input at end of file.
 * Resolves when stdin has ended or `stop` aborts; a process that has exited ends it quietly.
 */
export async function pipeStdin(io: CliIo, handle: ProcessHandle, stop: AbortSignal): Promise<void> {
  const stdin = io.stdin as NodeJS.ReadableStream;
  try {
    for await (const chunk of stdin) {
      if (stop.aborted) return;
      await handle.write(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Uint8Array));
    }
    if (!stop.aborted) await handle.closeInput();
  } catch {
    // The process exited (input refused) or the stream was stopped: the exit code tells the rest.
  }
}

/** Resizes the process's terminal whenever the local one changes size (SIGWINCH); returns the undo. */
export function followResizes(io: CliIo, handle: ProcessHandle): () => void {
  const onResize = () => {
    const size = terminalSize(io);
    if (size) void handle.resize(size).catch(() => {});
  };
  process.on("SIGWINCH", onResize);
  return () => void process.off("SIGWINCH", onResize);
}

/**
 * Without a terminal, Ctrl-C and SIGTERM are sent on to the process (SIGINT, SIGTERM) rather than
 * ending fsb-ctl, so the process decides and fsb-ctl exits with its code. Returns the undo.
 */
export function forwardSignals(handle: ProcessHandle): () => void {
  const forward = (signal: "SIGINT" | "SIGTERM") => () => void handle.kill(signal).catch(() => {});
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  return () => {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  };
}

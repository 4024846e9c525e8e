/** `sandbox.exec`: run a command to its end and get its exit code and output. */
import { FastSandboxError } from "./errors.ts";
import type { ProcessExit, ProcessHandle } from "./process-handle.ts";
import type { ProcessOptions, SandboxProcesses } from "./processes.ts";

/** Options of {@link Sandbox.exec}. */
export interface ExecOptions extends ProcessOptions {
  /** Written to the process's stdin, which is then closed. Without it stdin is empty. */
  stdin?: string | Uint8Array;
  /** Output as it comes, as text (UTF-8 decoded across chunk boundaries). */
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
  /** Cancels: the process is killed (SIGKILL) and exec rejects with code `cancelled`. */
  signal?: AbortSignal;
}

/** The outcome of {@link Sandbox.exec}: how the process ended and everything it wrote. */
export interface ExecResult extends ProcessExit {
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` (a string runs through `/bin/sh -c`; an array is the argv itself) and resolves
 * once it exits. Both outputs are also kept whole in the result, so use the callbacks (or
 * `sandbox.processes.start`) for output too large to hold.
 */
export async function execIn(
  processes: SandboxProcesses,
  command: string | string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const { stdin, onStdout, onStderr, signal, ...rest } = options;
  if (signal?.aborted) throw cancelled(signal.reason);
  const out = collector(onStdout);
  const err = collector(onStderr);
  const argv = typeof command === "string" ? ["/bin/sh", "-c", command] : command;
  let handle: ProcessHandle | undefined;
  let killing: Promise<void> | undefined;
  const onAbort = () => {
    killing ??= handle?.kill("SIGKILL").catch(() => {});
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    handle = await processes.open(
      argv,
      { ...rest, ...(stdin !== undefined ? { stdin: true } : {}), ...(signal ? { signal } : {}) },
      { stdout: out.sink, stderr: err.sink },
    );
    if (signal?.aborted) onAbort();
    if (stdin !== undefined) await feed(handle, stdin);
    const exit = await handle.wait();
    return { ...exit, stdout: out.text(), stderr: err.text() };
  } catch (e) {
    if (signal?.aborted) {
      await killing;
      throw cancelled(e);
    }
    throw e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Writes all of `stdin`, then end of file; a process that exits without reading it all is no error. */
async function feed(handle: ProcessHandle, stdin: string | Uint8Array): Promise<void> {
  try {
    await handle.write(stdin);
    await handle.closeInput();
  } catch (err) {
    if (!(err instanceof FastSandboxError && err.code === "failed_precondition")) throw err;
  }
}

function cancelled(cause: unknown): FastSandboxError {
  return new FastSandboxError("exec was cancelled; the process was killed", { code: "cancelled", cause });
}

/** A text sink that keeps everything and forwards each piece. */
function collector(on: ((t: string) => void) | undefined) {
  const decoder = new TextDecoder();
  const parts: string[] = [];
  return {
    sink(data: Uint8Array) {
      const text = decoder.decode(data, { stream: true });
      if (!text) return;
      parts.push(text);
      on?.(text);
    },
    text() {
      const rest = decoder.decode();
      if (rest) {
        parts.push(rest);
        on?.(rest);
      }
      return parts.join("");
    },
  };
}

/** Stops a process by its PID: SIGTERM, a grace period, then SIGKILL, and waits until it is gone. */
import { setTimeout as sleep } from "node:timers/promises";
import { isProcessRunning } from "./proc-fs.ts";

/** How often the process is looked at while it shuts down. */
const POLL_MS = 25;
/** After SIGKILL the kernel needs only a moment; this bounds the wait if the process is stuck in D state. */
const KILL_WAIT_MS = 5000;

/**
 * Stops `pid` and resolves once it no longer runs (true), or false if even SIGKILL did not end it
 * in time. The caller must have made sure `pid` is the process it means (see proc-fs.ts): this
 * signals whatever runs under that number.
 */
export async function stopProcess(pid: number, graceMs: number): Promise<boolean> {
  if (!signal(pid, "SIGTERM")) return true;
  if (await exited(pid, graceMs)) return true;
  signal(pid, "SIGKILL");
  return exited(pid, KILL_WAIT_MS);
}

async function exited(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (isProcessRunning(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
  return true;
}

/** Sends `sig`; false if there was no such process. */
function signal(pid: number, sig: NodeJS.Signals): boolean {
  if (!isProcessRunning(pid)) return false;
  try {
    process.kill(pid, sig);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
}

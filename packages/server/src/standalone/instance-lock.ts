/** One standalone system per state directory: a lock naming the live instance (PID and API address). */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { type LockFile, type LockHolder, tryAcquireLockFile } from "../core/lock-file.ts";

const LOCK_FILE = "standalone.lock";

/** The lock, or a one-line refusal naming the live instance that holds it. */
export type InstanceLockAttempt =
  | { lock: LockFile; refusal?: undefined }
  | { lock?: undefined; refusal: string };

/**
 * Takes the instance lock of `stateDir`, announcing `api` (the address this instance will serve).
 * Taking it reads the lock and writes only a temporary file of our own: a refused start touches
 * nothing of the running instance. A lock whose holder is gone (killed, crashed, or its PID now
 * names another process) is taken over: that instance's leftovers are this one's to adopt or stop.
 */
export function takeInstanceLock(stateDir: string, api: string): InstanceLockAttempt {
  mkdirSync(stateDir, { recursive: true });
  const attempt = tryAcquireLockFile(path.join(stateDir, LOCK_FILE), { api });
  if (attempt.lock) return { lock: attempt.lock };
  return { refusal: alreadyRunning(stateDir, attempt.holder) };
}

/** The refusal's text: who runs, where, and what to do about it. */
export function alreadyRunning(stateDir: string, holder: LockHolder): string {
  const api = holder.details.api ? `, API ${holder.details.api}` : "";
  return (
    `Fast Sandbox is already running from ${stateDir} (pid ${holder.pid}${api}). ` +
    `Use that one, stop it (Ctrl-C in its terminal, or kill ${holder.pid}), ` +
    `or start another with its own --state-dir and ports (see --help).`
  );
}

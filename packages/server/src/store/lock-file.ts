/** An exclusive pid lock file, so only one process at a time opens a data directory. */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { ErrorCode, FsbError } from "@fast-sandbox/api";

/** A held lock; release it when done. */
export interface LockFile {
  readonly path: string;
  release(): void;
}

/**
 * Takes the lock at `file`, writing our pid into it. Refuses with FAILED_PRECONDITION while another
 * live process holds it; takes over a lock left by a dead process. A second open in this same process
 * is refused too, since our own pid is alive.
 */
export function acquireLockFile(file: string): LockFile {
  // Write the pid to a private file first and link it into place: the link appears atomically with its
  // content, so nobody ever reads a half-written lock and mistakes it for a stale one.
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(temp, file);
        return { path: file, release: () => releaseLockFile(file) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = readHolder(file);
      if (holder !== undefined && isAlive(holder)) {
        throw new FsbError(
          ErrorCode.FailedPrecondition,
          `${file} is held by live process ${holder}${holder === process.pid ? " (this one)" : ""}: the data directory is already open`,
        );
      }
      removeIfPresent(file);
    }
    throw new FsbError(ErrorCode.FailedPrecondition, `${file}: lost the race to take over a stale lock`);
  } finally {
    removeIfPresent(temp);
  }
}

function releaseLockFile(file: string): void {
  // Only remove the lock if it is still ours: never delete a lock another process took over.
  if (readHolder(file) === process.pid) removeIfPresent(file);
}

function readHolder(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else, so it is alive all the same.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function removeIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

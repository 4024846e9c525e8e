/** An exclusive PID lock file, so only one process at a time owns a directory (a store, a standalone system). */
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { bootId, isProcessRunning, processStartTicks } from "./proc-fs.ts";

/** Who holds a lock, as its holder wrote it. */
export interface LockHolder {
  pid: number;
  /**
   * The holder's start time (clock ticks since boot) and the boot it ran in. A lock whose PID now
   * names another process (after a crash and PID reuse, or a reboot) is not held: see {@link isHolderAlive}.
   */
  startTicks?: number;
  bootId?: string;
  /** What the holder says about itself for whoever finds the lock taken (an API address, say). */
  details: Record<string, string>;
}

/** A held lock; release it when done. */
export interface LockFile {
  readonly path: string;
  /** Replaces the details (atomically: readers see the old or the new record, never half of one). */
  update(details: Record<string, string>): void;
  release(): void;
}

/** The lock, or who holds it. */
export type LockAttempt = { lock: LockFile; holder?: undefined } | { lock?: undefined; holder: LockHolder };

/** Attempts at taking over a stale lock before giving up: each loses only to a process that took it meanwhile. */
const TAKEOVER_ATTEMPTS = 5;

/**
 * Takes the lock at `file`, recording this process (PID, start time, boot) and `details`; or says
 * which live process holds it. A lock left by a process that is gone is taken over.
 */
export function tryAcquireLockFile(file: string, details: Record<string, string> = {}): LockAttempt {
  // Written to a private file first and linked into place: the link appears atomically with its
  // content, so nobody ever reads a half-written lock and mistakes it for a stale one.
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, ownRecord(details), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt++) {
      try {
        linkSync(temp, file);
        return { lock: heldLock(file) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = readLockHolder(file);
      if (holder !== undefined && isHolderAlive(holder)) return { holder };
      removeIfPresent(file);
    }
    throw new FsbError(ErrorCode.FailedPrecondition, `${file}: lost the race to take over a stale lock`);
  } finally {
    removeIfPresent(temp);
  }
}

/**
 * Takes the lock at `file`, or refuses with FAILED_PRECONDITION while another live process holds
 * it. A second open in this same process is refused too, since this process is alive.
 */
export function acquireLockFile(file: string): LockFile {
  const attempt = tryAcquireLockFile(file);
  if (attempt.lock) return attempt.lock;
  const pid = attempt.holder.pid;
  throw new FsbError(
    ErrorCode.FailedPrecondition,
    `${file} is held by live process ${pid}${pid === process.pid ? " (this one)" : ""}: the data directory is already open`,
  );
}

/** The holder recorded in `file` (alive or not), or undefined when there is no readable lock. */
export function readLockHolder(file: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
  // A bare PID is what locks held before the JSON record looked like.
  if (/^\d+$/.test(text)) return validPid(Number(text)) ? { pid: Number(text), details: {} } : undefined;
  try {
    const record = JSON.parse(text) as Partial<LockHolder>;
    if (!validPid(record.pid)) return undefined;
    return {
      pid: record.pid,
      ...(typeof record.startTicks === "number" ? { startTicks: record.startTicks } : {}),
      ...(typeof record.bootId === "string" ? { bootId: record.bootId } : {}),
      details: stringRecord(record.details),
    };
  } catch {
    return undefined;
  }
}

/** Whether the holder still runs: its PID runs, and (when recorded) in this boot with the same start time. */
export function isHolderAlive(holder: LockHolder): boolean {
  if (!isProcessRunning(holder.pid)) return false;
  if (holder.bootId !== undefined && holder.bootId !== bootId()) return false;
  if (holder.startTicks !== undefined && processStartTicks(holder.pid) !== holder.startTicks) return false;
  return true;
}

function heldLock(file: string): LockFile {
  return {
    path: file,
    update(details) {
      if (readLockHolder(file)?.pid !== process.pid) return;
      const temp = `${file}.${process.pid}.tmp`;
      writeFileSync(temp, ownRecord(details), { mode: 0o600 });
      renameSync(temp, file);
    },
    // Only removed while still ours: never delete a lock another process took over.
    release: () => {
      if (readLockHolder(file)?.pid === process.pid) removeIfPresent(file);
    },
  };
}

function ownRecord(details: Record<string, string>): string {
  const startTicks = processStartTicks(process.pid);
  const record: LockHolder = {
    pid: process.pid,
    ...(startTicks === undefined ? {} : { startTicks }),
    bootId: bootId(),
    details,
  };
  return `${JSON.stringify(record)}\n`;
}

function validPid(pid: unknown): pid is number {
  return typeof pid === "number" && Number.isSafeInteger(pid) && pid > 0;
}

function stringRecord(value: unknown): Record<string, string> {
  if (!value || typeof value !== "object") return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}

function removeIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

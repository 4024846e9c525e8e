/** PID files: who runs a long-lived process we started, so a later run can find it again by PID. */
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isProcessRunning, processArgv } from "./proc-fs.ts";

/** Writes `pid` to `file` atomically (temp file + rename): a reader never sees half a number. */
export function writePidFile(file: string, pid: number = process.pid): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${pid}\n`);
  renameSync(temp, file);
}

/** The PID in `file`, or undefined when there is none (or it is not a PID). */
export function readPidFile(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Removes `file` if it still names `pid`: a successor may already have written its own. */
export function removePidFile(file: string, pid: number = process.pid): void {
  if (readPidFile(file) !== pid) return;
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/**
 * The process a PID file names, if it still runs and its command line says it is the one we
 * started (`isOurs`): a PID alone may since have been given to an unrelated process.
 */
export function recordedProcess(
  file: string,
  isOurs: (argv: readonly string[]) => boolean,
): number | undefined {
  const pid = readPidFile(file);
  if (pid === undefined || !isProcessRunning(pid)) return undefined;
  const argv = processArgv(pid);
  return argv && isOurs(argv) ? pid : undefined;
}

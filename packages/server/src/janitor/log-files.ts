/** Reads the agents' log directory: the `<sandboxId>.log` files and when each was last written. */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { type LogFileFacts, logFileSandboxId } from "./classify-leftovers.ts";

/** A sandbox log file with its path. */
export interface LogFile extends LogFileFacts {
  path: string;
}

/** Every regular `<sandboxId>.log` file directly in `logDir`; a missing directory has none. */
export async function listLogFiles(logDir: string): Promise<LogFile[]> {
  const entries = await readdir(logDir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
  const files: LogFile[] = [];
  for (const entry of entries) {
    const sandboxId = entry.isFile() ? logFileSandboxId(entry.name) : undefined;
    if (!sandboxId) continue;
    const file = await statLogFile(path.join(logDir, entry.name), sandboxId);
    if (file) files.push(file);
  }
  return files;
}

/** One log file as it is now, or undefined if it is gone or no longer a regular file. */
export async function statLogFile(filePath: string, sandboxId: string): Promise<LogFile | undefined> {
  const info = await stat(filePath).catch(() => undefined);
  return info?.isFile() ? { path: filePath, sandboxId, modifiedAtMs: info.mtimeMs } : undefined;
}

/** Where sandbox logs live on the node, and what happens to one when its container goes. */
import { rename, rm } from "node:fs/promises";
import path from "node:path";

/**
 * Where a sandbox's log is kept once its container is gone (and, for a sandbox that did not take a
 * prewarmed container, while it runs); the id is a DNS label, so it cannot escape the log dir.
 */
export function keptLogPath(logDir: string, sandboxId: string): string {
  return path.join(logDir, `${sandboxId}.log`);
}

/**
 * After the container is gone its log is removed, or with `keepLog` kept under the sandbox's own
 * name (a prewarmed container's log is named after the container), where the logs endpoint and the
 * janitor look for a removed sandbox's log. Nothing writes to it any more, so the rename is safe.
 */
export async function settleLog(
  logDir: string,
  sandboxId: string,
  logPath: string,
  keepLog: boolean,
): Promise<void> {
  const kept = keptLogPath(logDir, sandboxId);
  if (!keepLog) {
    await rm(logPath, { force: true });
    if (logPath !== kept) await rm(kept, { force: true });
  } else if (logPath !== kept) {
    await rename(logPath, kept).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
  }
}

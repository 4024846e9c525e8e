/** A process's start time from /proc: with its pid, an identity that survives pid reuse. */
import { readFileSync } from "node:fs";

/** In /proc/<pid>/stat, after the parenthesised command: field 3 (state) is index 0, field 22 (starttime) index 19. */
const STATE_INDEX = 0;
const START_TIME_INDEX = 19;

/**
 * The start time (clock ticks since boot, as the kernel writes it) of a live process, or undefined if
 * the pid names no process, a zombie, or one this process cannot see (another pid namespace).
 * Synchronous on purpose: a /proc read takes ~10 µs here, while an async one waits ~10× that in
 * libuv's thread pool; callers reading many yield between batches.
 */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name may contain spaces and parentheses; the last ")" ends it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[STATE_INDEX] === "Z" || fields[STATE_INDEX] === "X") return undefined;
  return fields[START_TIME_INDEX];
}

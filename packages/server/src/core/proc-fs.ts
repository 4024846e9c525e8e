/** Facts about a process read from /proc: whether it runs, when it started, and its command line. */
import { readFileSync } from "node:fs";

/** Fields of /proc/<pid>/stat after the parenthesised command name (which may contain spaces). */
function statFields(pid: number): string[] | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/**
 * Whether `pid` names a running process. A zombie counts as gone: it has exited and only waits for
 * its parent (or init, for an orphan) to reap it, so it holds no port, lock or socket any more.
 */
export function isProcessRunning(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== "Z";
}

/**
 * When the process started, in clock ticks since boot (field 22 of /proc/<pid>/stat). With the
 * boot id it tells a process from a later one that was given the same PID.
 */
export function processStartTicks(pid: number): number | undefined {
  const ticks = Number(statFields(pid)?.[19]);
  return Number.isSafeInteger(ticks) ? ticks : undefined;
}

/** This boot's random id: start ticks are only comparable within one boot. */
export function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}

/** The process's argv (undefined when it is gone or unreadable; empty for a kernel thread or zombie). */
export function processArgv(pid: number): string[] | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return raw === "" ? [] : raw.replace(/\0$/, "").split("\0");
  } catch {
    return undefined;
  }
}

/** Whether `argv` holds `flag` immediately followed by `value` (how our launchers pass every setting). */
export function argvHas(argv: readonly string[], flag: string, value: string): boolean {
  for (let i = 0; i + 1 < argv.length; i++) {
    if (argv[i] === flag && argv[i + 1] === value) return true;
  }
  return false;
}

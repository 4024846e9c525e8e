/** Memory and CPU readings for system benchmarks: a process's RSS and CPU time, the machine's MemAvailable, and the runc shims of one containerd. */
import { readdir, readFile, readlink } from "node:fs/promises";

/** The shim binary every sandbox runs under (containerd's runc v2 shim). */
const SHIM_BINARY = "containerd-shim-runc-v2";
const KIB = 1024;

/** Resident set size of `pid` in bytes; 0 if the process is gone. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return match ? Number(match[1]) * KIB : 0;
}

/** The kernel's estimate of memory available for new work, in bytes. */
export async function memAvailableBytes(): Promise<number> {
  const meminfo = await readFile("/proc/meminfo", "utf8");
  const match = /^MemAvailable:\s+(\d+) kB$/m.exec(meminfo);
  if (!match) throw new Error("no MemAvailable in /proc/meminfo");
  return Number(match[1]) * KIB;
}

/**
 * PIDs of the runc shims serving the containerd at `socketPath`: processes running the shim binary
 * whose command line names that socket as `-address`. Shims are re-parented to init, so they are
 * found by what they run, for measuring only; nothing is ever signalled by this list.
 */
export async function shimPids(socketPath: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const exe = await readlink(`/proc/${entry}/exe`).catch(() => "");
    if (!exe.endsWith(`/${SHIM_BINARY}`)) continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "")).split("\0");
    const at = args.indexOf("-address");
    if (at >= 0 && args[at + 1] === socketPath) pids.push(Number(entry));
  }
  return pids;
}

/** RSS of each named group of processes, in bytes. */
export async function rssByGroup(groups: Record<string, readonly number[]>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, pids] of Object.entries(groups)) {
    let total = 0;
    for (const pid of pids) total += await rssBytes(pid);
    out[name] = total;
  }
  return out;
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return (bytes / (KIB * KIB)).toFixed(1);
}

/** Clock ticks per second for /proc/<pid>/stat times (Linux's USER_HZ, 100 on every common build). */
const CLOCK_TICKS = 100;

/**
 * CPU seconds a process has used, including the children it has reaped (a shim reaps the runc
 * processes it starts, so their work counts towards it); 0 if the process is gone.
 */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  if (stat === "") return 0;
  // Fields after the parenthesised command name: state is field 3, utime..cstime are fields 14–17.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
  return ticks / CLOCK_TICKS;
}

/** CPU seconds of each named group of processes. */
export async function cpuByGroup(groups: Record<string, readonly number[]>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, pids] of Object.entries(groups)) {
    let total = 0;
    for (const pid of pids) total += await cpuSeconds(pid);
    out[name] = total;
  }
  return out;
}

/** CPU seconds the whole machine has spent busy (all CPUs, everything but idle and iowait). */
export async function machineBusySeconds(): Promise<number> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n")[0] ?? "";
  const [, ...values] = line.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal …
  const busy = values.reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + (v ?? 0)), 0);
  return busy / CLOCK_TICKS;
}

/** Signal names and numbers for exec'd processes, and what an exit status says about a signal (pure). */
import { invalidArgument } from "@fast-sandbox/api";

/** Linux's numbering of the standard signals (the same on x86-64 and arm64). */
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};
const SIGNAL_NAMES = new Map(Object.entries(SIGNAL_NUMBERS).map(([name, n]) => [n, name]));
/** Real-time signals end here (SIGRTMAX on Linux). */
const MAX_SIGNAL = 64;
/** A shell reports death by signal n as exit status 128 + n; so does containerd's shim. */
const SIGNAL_EXIT_BASE = 128;

export const SIGKILL = SIGNAL_NUMBERS.SIGKILL as number;

/** A signal given by name ("SIGTERM", "term", "TERM") or number (1-64) as its number; INVALID_ARGUMENT otherwise. */
export function parseSignal(signal: string | number, field = "signal"): number {
  if (typeof signal === "number") {
    if (Number.isInteger(signal) && signal >= 1 && signal <= MAX_SIGNAL) return signal;
    throw invalidArgument(field, `${signal} is not a signal number from 1 to ${MAX_SIGNAL}`);
  }
  const upper = signal.trim().toUpperCase();
  if (/^\d+$/.test(upper)) return parseSignal(Number(upper), field);
  const number = SIGNAL_NUMBERS[upper.startsWith("SIG") ? upper : `SIG${upper}`];
  if (number === undefined) throw invalidArgument(field, `"${signal}" is not a signal name such as SIGTERM`);
  return number;
}

/** The name of a standard signal ("SIGKILL"), or "SIG<n>" for a real-time one. */
export function signalName(signal: number): string {
  return SIGNAL_NAMES.get(signal) ?? `SIG${signal}`;
}

/**
 * The signal an exit status says killed the process ("" if none): 128 + n for a standard signal n.
 * A process that called exit(137) itself reads the same; a shell cannot tell them apart either.
 */
export function signalOfExit(exitStatus: number): string {
  const n = exitStatus - SIGNAL_EXIT_BASE;
  return SIGNAL_NAMES.has(n) ? signalName(n) : "";
}

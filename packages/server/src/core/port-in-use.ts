/** A listen that fails because the port is taken becomes one clear error naming the port and its flag. */
import net from "node:net";
import { ErrorCode, FsbError } from "@fast-sandbox/api";

/** A fixed address a process listens on, and the flag that sets it (for the error message). */
export interface FlaggedPort {
  flag: string;
  /** Empty: every interface. */
  host: string;
  /** 0 picks a free port, which can never be in use. */
  port: number;
}

/**
 * The FAILED_PRECONDITION to report for `err` if it is a listen failing on one of `ports`
 * (EADDRINUSE, or EACCES for a privileged port), naming the port and the flag(s) that set it;
 * undefined for any other error.
 */
export function portInUseError(err: unknown, ports: readonly FlaggedPort[]): FsbError | undefined {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (!e || (e.code !== "EADDRINUSE" && e.code !== "EACCES") || typeof e.port !== "number") return undefined;
  const matching = ports.filter((p) => p.port === e.port);
  const first = matching[0];
  if (!first) return undefined;
  const where = `${first.host || "*"}:${e.port}`;
  const problem =
    e.code === "EADDRINUSE"
      ? "is already in use by another process; stop it or pass this flag another address"
      : "needs privileges this process lacks; pass this flag a port above 1023";
  return new FsbError(ErrorCode.FailedPrecondition, `${where} ${problem}`, {
    field: matching.map((p) => p.flag).join(" / "),
    cause: err,
  });
}

/**
 * Refuses, before anything starts, when two flags name the same port or a port is taken: a
 * system that would fail half-way up then never starts at all. Listening is the only honest test
 * of a port; each is bound and released at once (another process may still take one in between,
 * which the real listen then reports the same way).
 */
export async function assertPortsFree(ports: readonly FlaggedPort[]): Promise<void> {
  const fixed = ports.filter((p) => p.port !== 0);
  for (const [i, p] of fixed.entries()) {
    const twin = fixed.slice(0, i).find((q) => q.port === p.port && overlaps(q.host, p.host));
    if (twin) {
      throw new FsbError(ErrorCode.InvalidArgument, `port ${p.port} is also set by ${twin.flag}`, {
        field: p.flag,
      });
    }
  }
  for (const p of fixed) {
    const error = await tryListen(p);
    if (error) throw portInUseError(error, [p]) ?? error;
  }
}

/** Two bind hosts clash when they are equal or either is every interface. */
function overlaps(a: string, b: string): boolean {
  return a === b || a === "" || b === "" || a === "0.0.0.0" || b === "0.0.0.0";
}

function tryListen(p: FlaggedPort): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (err) => resolve(err));
    server.listen({ port: p.port, host: p.host || undefined, exclusive: true }, () =>
      server.close(() => resolve(undefined)),
    );
  });
}

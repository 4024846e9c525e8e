/** Translates containerd gRPC failures into FsbError codes, keeping the original as the cause. */
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorCode, FsbError } from "@fast-sandbox/api";

const codeMap: ReadonlyMap<Code, ErrorCode> = new Map([
  [Code.Canceled, ErrorCode.Cancelled],
  [Code.InvalidArgument, ErrorCode.InvalidArgument],
  [Code.DeadlineExceeded, ErrorCode.DeadlineExceeded],
  [Code.NotFound, ErrorCode.NotFound],
  [Code.AlreadyExists, ErrorCode.AlreadyExists],
  [Code.PermissionDenied, ErrorCode.PermissionDenied],
  [Code.ResourceExhausted, ErrorCode.ResourceExhausted],
  [Code.FailedPrecondition, ErrorCode.FailedPrecondition],
  [Code.Aborted, ErrorCode.Aborted],
  [Code.OutOfRange, ErrorCode.OutOfRange],
  [Code.Unimplemented, ErrorCode.Unimplemented],
  [Code.Unavailable, ErrorCode.Unavailable],
  [Code.Unauthenticated, ErrorCode.Unauthenticated],
]);

/** Socket-level failures: containerd is down or restarting, so the caller may retry later. */
const unreachableErrnos = new Set(["ENOENT", "ECONNREFUSED", "EPIPE", "ECONNRESET"]);

/**
 * Wraps a failed containerd call as an FsbError. `action` says what we were doing, for the
 * message ("create task sb-1"). Socket-level failures surface as UNAVAILABLE.
 */
export function fromContainerdError(err: unknown, action: string): FsbError {
  if (err instanceof FsbError) return err;
  if (err instanceof ConnectError) {
    // The transport wraps socket failures; a containerd that is down is UNAVAILABLE, not a bug.
    const errno = (err.cause as NodeJS.ErrnoException | undefined)?.code;
    if (errno && unreachableErrnos.has(errno)) return unreachable(err, action, errno);
    const code = codeMap.get(err.code) ?? ErrorCode.Internal;
    return new FsbError(code, `containerd: ${action}: ${err.rawMessage}`, { cause: err });
  }
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (errno && unreachableErrnos.has(errno)) return unreachable(err, action, errno);
  const message = err instanceof Error ? err.message : String(err);
  return new FsbError(ErrorCode.Internal, `containerd: ${action}: ${message}`, { cause: err });
}

function unreachable(err: unknown, action: string, errno: string): FsbError {
  return new FsbError(
    ErrorCode.Unavailable,
    `containerd: ${action}: socket unreachable (${errno}); retry once containerd is back`,
    { cause: err },
  );
}

/** What a task failure's translation may look at besides the message: the spec it ran. */
export interface TaskFailureContext {
  /** The process's working directory in the spec (`process.cwd`). */
  cwd?: string;
}

/**
 * One failure a create can meet in Tasks.Create or Tasks.Start, recognised by the text containerd
 * 1.6 and runc 1.1.5 put in the (code UNKNOWN) status. The texts are quoted in errors.test.ts.
 * `field` names the sandbox field at fault, relative to the sandbox (the agent prefixes `sandbox.`).
 */
interface TaskFailure {
  /** For tests and logs: which rule matched. */
  name: string;
  pattern: RegExp;
  translate: (match: RegExpExecArray, context: TaskFailureContext) => TaskFailureVerdict | undefined;
}

type TaskFailureVerdict = { code: ErrorCode; message: string; field?: string };

/** cpu.shares that one core gets (cgroup v1 convention, see linux-options.ts). */
const SHARES_PER_CPU = 1024;

/**
 * Failures of a task create, first match wins. What is not here falls back to the gRPC code
 * (UNKNOWN → INTERNAL, message kept), so an unrecognised runc failure is reported as it is.
 */
export const taskFailures: readonly TaskFailure[] = [
  {
    // A shared shim (one per agent) exits when the last container of its group is deleted; a create
    // that starts the group's shim while the old one is exiting finds its socket gone. Retrying
    // starts a fresh shim (or finds the agent's anchor has kept one up).
    name: "shim-exiting",
    pattern:
      /failed to start shim: start failed: (?:dial unix [^:]+: connect: no such file or directory|.*remove pre-existing socket: .*no such file or directory)/,
    translate: () => ({
      code: ErrorCode.Unavailable,
      message: "the runc shim of this agent's containers was exiting as the create started it; retry",
    }),
  },
  {
    // The shim died while creating the task (the same race, seen from the other side).
    name: "shim-closed",
    pattern: /failed to create shim task: ttrpc: closed/,
    translate: () => ({
      code: ErrorCode.Unavailable,
      message: "the runc shim exited while creating the task; retry",
    }),
  },
  {
    name: "command-not-found",
    pattern: /exec: "([^"]*)": (?:executable file not found in \$PATH|stat [^:]*: no such file or directory)/,
    translate: (m) => ({
      code: ErrorCode.InvalidArgument,
      message: `"${m[1]}" was not found in the image`,
      field: "command",
    }),
  },
  {
    // runsc's words for the same, when a process is exec'd into a gVisor sandbox.
    name: "command-not-found-gvisor",
    pattern: /error finding executable "([^"]*)" in PATH/,
    translate: (m) => ({
      code: ErrorCode.InvalidArgument,
      message: `"${m[1]}" was not found in the image`,
      field: "command",
    }),
  },
  {
    name: "command-not-executable",
    pattern: /exec: "([^"]*)": permission denied/,
    translate: (m) => ({
      code: ErrorCode.InvalidArgument,
      message: `"${m[1]}" is not executable`,
      field: "command",
    }),
  },
  {
    // runc creates a missing working directory, but not through a file.
    name: "working-dir-not-directory",
    pattern: /error during container init: mkdir ([^:]+): not a directory/,
    translate: (m, { cwd }) =>
      cwd !== undefined && (cwd === m[1] || cwd.startsWith(`${m[1]}/`))
        ? {
            code: ErrorCode.InvalidArgument,
            message: `"${cwd}" cannot be a directory in the image: "${m[1]}" is a file`,
            field: "workingDir",
          }
        : undefined,
  },
  {
    // cgroup v1 refuses a limit below what runc init has already charged to the new cgroup.
    name: "memory-below-usage",
    pattern: /unable to set memory limit to (\d+) \(current usage: (\d+)/,
    translate: (m) => ({
      code: ErrorCode.InvalidArgument,
      message: `${m[1]} bytes is less than the container uses while it starts (${m[2]} bytes); ask for more memory`,
      field: "resources.memory",
    }),
  },
  {
    // runc 1.1's words for an init process the memory limit killed (not reproduced on this host,
    // where cgroup v1 refuses the limit first, as above).
    name: "memory-oom-at-start",
    pattern: /container init was OOM-killed \(memory limit too low\?\)/,
    translate: () => ({
      code: ErrorCode.InvalidArgument,
      message: "the memory limit is too low for the container to start; ask for more memory",
      field: "resources.memory",
    }),
  },
  {
    name: "cpu-above-maximum",
    pattern: /the maximum allowed cpu-shares is (\d+)/,
    translate: (m) => ({
      code: ErrorCode.InvalidArgument,
      message: `more CPU than the kernel allows one container: at most ${Number(m[1]) / SHARES_PER_CPU} cores`,
      field: "resources.cpu",
    }),
  },
  {
    // fork/clone failing for want of pids or memory on the node (EAGAIN): the node is full, not the request wrong.
    name: "node-out-of-processes",
    pattern: /(?:fork|clone|newosproc)[^:]*: resource temporarily unavailable/,
    translate: () => ({
      code: ErrorCode.ResourceExhausted,
      message: "the node could not start another process (resource temporarily unavailable); retry later",
    }),
  },
  {
    // containerd's own timeouts (shim start, runc calls) surface as text inside an UNKNOWN status.
    name: "deadline",
    pattern: /context deadline exceeded/,
    translate: () => ({
      code: ErrorCode.DeadlineExceeded,
      message: "containerd timed out starting the task; retry",
    }),
  },
];

/**
 * Translates a failed Tasks.Create or Tasks.Start: a known condition gets its own code (and field),
 * anything else goes through {@link fromContainerdError}. The raw text stays in the cause.
 */
export function fromTaskError(err: unknown, action: string, context: TaskFailureContext = {}): FsbError {
  if (err instanceof FsbError) return err;
  const text =
    err instanceof ConnectError ? err.rawMessage : err instanceof Error ? err.message : String(err);
  for (const failure of taskFailures) {
    const match = failure.pattern.exec(text);
    const verdict = match && failure.translate(match, context);
    if (!verdict) continue;
    const message = verdict.field ? verdict.message : `containerd: ${action}: ${verdict.message}`;
    return new FsbError(verdict.code, message, {
      cause: err,
      ...(verdict.field ? { field: verdict.field } : {}),
    });
  }
  return fromContainerdError(err, action);
}

/** Whether a containerd call failed because the object does not exist. */
export function isNotFound(err: unknown): boolean {
  if (err instanceof FsbError) return err.code === ErrorCode.NotFound;
  return err instanceof ConnectError && err.code === Code.NotFound;
}

/** Runs a containerd call, translating any failure. */
export async function containerdCall<T>(action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw fromContainerdError(err, action);
  }
}

/** Runs a containerd call whose NOT_FOUND means "already done", as in idempotent teardown. */
export async function ignoreNotFound(action: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (isNotFound(err)) return;
    throw fromContainerdError(err, action);
  }
}

/** The OCI process of a command exec'd into a running container: its own process spec, changed (pure). */
import { defaultSpec, type OciProcess } from "./oci-spec.ts";
import { withArgs, withCwd, withEnv, withUser } from "./spec-options.ts";

/** What an exec changes of the container's process; anything not given is the container's. */
export interface ExecProcessOptions {
  args: string[];
  /** Merged over the container's env; a name given here wins. */
  env?: Record<string, string>;
  cwd?: string;
  user?: { uid: number; gid: number };
  /** A terminal of this size (cells); absent: plain pipes. */
  terminal?: { cols: number; rows: number };
}

/**
 * The container's process with `options` applied. Capabilities, rlimits, no-new-privileges and the
 * like stay the container's: an exec'd process never gets more than the sandbox's own.
 */
export function execProcessSpec(base: OciProcess, options: ExecProcessOptions): OciProcess {
  const spec = defaultSpec();
  spec.process = structuredClone(base);
  const steps = [withArgs(options.args), withEnv(options.env ?? {})];
  if (options.cwd !== undefined) steps.push(withCwd(options.cwd));
  if (options.user) steps.push(withUser(options.user.uid, options.user.gid));
  for (const step of steps) step(spec);
  const process = spec.process;
  if (options.terminal) {
    process.terminal = true;
    process.consoleSize = { width: options.terminal.cols, height: options.terminal.rows };
  } else {
    process.terminal = false;
    delete process.consoleSize;
  }
  return process;
}

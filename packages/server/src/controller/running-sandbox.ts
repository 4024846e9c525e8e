/** Where a Running sandbox runs, for the calls that reach into it (processes, files). */
import { ErrorCode, FsbError, objectKey, type Sandbox, SandboxPhase } from "@fast-sandbox/api";

/** A Running sandbox's agent, its id there, and its key for messages. */
export interface RunningSandbox {
  key: string;
  agentId: string;
  sandboxId: string;
}

/**
 * The placement of a sandbox that runs now; FAILED_PRECONDITION naming its phase otherwise
 * (Terminating once it is being deleted). `what` ends the message: "processes run only in a
 * Running sandbox".
 */
export function runningSandbox(sandbox: Sandbox, what: string): RunningSandbox {
  const key = objectKey(sandbox.metadata.namespace, sandbox.metadata.name);
  const phase = sandbox.metadata.deletionTimestamp
    ? SandboxPhase.Terminating
    : (sandbox.status?.phase ?? SandboxPhase.Pending);
  const { assignedAgent, sandboxID } = sandbox.status ?? {};
  if (phase !== SandboxPhase.Running || !assignedAgent || !sandboxID) {
    throw new FsbError(ErrorCode.FailedPrecondition, `sandbox ${key} is ${phase}: ${what}`);
  }
  return { key, agentId: assignedAgent, sandboxId: sandboxID };
}

/** UNAVAILABLE for a sandbox whose agent the controller cannot call now. */
export function unreachableAgent(placed: RunningSandbox): FsbError {
  return new FsbError(
    ErrorCode.Unavailable,
    `agent ${placed.agentId} of sandbox ${placed.key} is not reachable`,
  );
}

/** A failed agent create, judged: may it be tried once more on another agent, and what does the API caller hear. */
import { ErrorCode, FsbError, isFsbError } from "@fast-sandbox/api";
import type { AgentApi } from "./agent-api.ts";
import { AgentCallError } from "./agent-call-error.ts";

/** A create is tried on at most this many agents: the first, and one other when that is safe. */
export const MAX_CREATE_ATTEMPTS = 2;
/** How long making sure a failed create left nothing (a delete by sandbox id) may take before retrying. */
export const VERIFY_TIMEOUT_MS = 5000;

/**
 * `retryElsewhere`: the first agent provably created nothing. `verifyThenRetry`: it may have
 * created the container, so only after a delete by sandbox id succeeded there (idempotent on the
 * agent). `giveUp`: the error is the answer.
 */
export type RetryDecision = "retryElsewhere" | "verifyThenRetry" | "giveUp";

/**
 * Retrying is safe when the agent cannot have a container: the connection failed before the
 * request was sent, or the agent itself answered UNAVAILABLE or RESOURCE_EXHAUSTED (its failed
 * creates roll back). Errors about the request (INVALID_ARGUMENT, FAILED_PRECONDITION) would fail
 * anywhere, and other agent errors are not known to have rolled back: no retry.
 */
export function decideCreateRetry(err: unknown, attempt: number): RetryDecision {
  if (attempt >= MAX_CREATE_ATTEMPTS || !(err instanceof AgentCallError)) return "giveUp";
  switch (err.delivery) {
    case "not-sent":
      return "retryElsewhere";
    case "answered":
      return err.code === ErrorCode.Unavailable || err.code === ErrorCode.ResourceExhausted
        ? "retryElsewhere"
        : "giveUp";
    case "unknown":
      return "verifyThenRetry";
  }
}

/**
 * The error a create answers with after agent `agentId` failed it, in the API's documented codes.
 * Errors about the request keep their code and field (the agent's `sandbox.` prefix dropped, so the
 * field is the API's). Everything else the agent or the way to it did is UNAVAILABLE: the sandbox
 * was not created and the same create may succeed later. RESOURCE_EXHAUSTED stays reserved for a
 * pool without room, which the agent cannot know about.
 */
export function apiErrorOfCreate(err: unknown, agentId: string): FsbError {
  if (!isFsbError(err)) {
    return new FsbError(ErrorCode.Internal, `create on agent ${agentId} failed: ${String(err)}`, {
      cause: err,
    });
  }
  if (!(err instanceof AgentCallError)) return err;
  if (err.delivery === "answered" && isAboutTheRequest(err.code)) {
    const field = err.field?.replace(/^sandbox\./, "");
    return new FsbError(err.code, err.rawMessage, { cause: err, ...(field ? { field } : {}) });
  }
  return new FsbError(ErrorCode.Unavailable, `${unavailableReason(err, agentId)}: ${err.message}`, {
    cause: err,
  });
}

/**
 * A store failure on the create path, in the API's codes: the store's own INTERNAL (a SQLite
 * error, an API server's 500) means the sandbox could not be read or recorded, which is
 * UNAVAILABLE to the caller; the store's other codes (UNAVAILABLE, ALREADY_EXISTS, ...) stand.
 */
export function apiErrorOfStore(err: unknown, doing: string): unknown {
  if (!isFsbError(err, ErrorCode.Internal)) return err;
  return new FsbError(ErrorCode.Unavailable, `the store failed while ${doing}: ${err.message}`, {
    cause: err,
  });
}

/**
 * Whether the agent refused the create because a declared port already listens on its node
 * (`exposedPorts[i]`): retrying elsewhere on that node cannot help, later on it may.
 */
export function isPortInUse(err: FsbError): boolean {
  return err.code === ErrorCode.FailedPrecondition && /^exposedPorts\[\d+\]$/.test(err.field ?? "");
}

function isAboutTheRequest(code: ErrorCode): boolean {
  return code === ErrorCode.InvalidArgument || code === ErrorCode.FailedPrecondition;
}

function unavailableReason(err: AgentCallError, agentId: string): string {
  if (err.delivery === "not-sent") return `agent ${agentId} is unreachable`;
  if (err.delivery === "unknown") {
    return err.code === ErrorCode.DeadlineExceeded
      ? `agent ${agentId} did not finish the create in time`
      : `agent ${agentId} broke off the create`;
  }
  switch (err.code) {
    case ErrorCode.Unauthenticated:
    case ErrorCode.PermissionDenied:
      return `agent ${agentId} refused the controller's agent token`;
    case ErrorCode.ResourceExhausted:
      return `agent ${agentId} had no room after all`;
    default:
      return `agent ${agentId} could not create the sandbox (${err.code})`;
  }
}

/**
 * Makes sure a create whose outcome is unknown left no container on the agent: a delete by the
 * sandbox id (idempotent there; an unknown id is success). False when the agent cannot confirm it.
 */
export async function agentHasNoContainer(client: AgentApi | undefined, sandboxId: string): Promise<boolean> {
  if (!client) return false;
  try {
    await client.delete(sandboxId, { gracePeriodSeconds: 0 }, AbortSignal.timeout(VERIFY_TIMEOUT_MS));
    return true;
  } catch {
    return false;
  }
}

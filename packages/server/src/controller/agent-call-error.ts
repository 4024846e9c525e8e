/** The error of a call to an agent: an FsbError that also says whether the agent can have acted on it. */
import { type ErrorCode, FsbError, type FsbErrorOptions } from "@fast-sandbox/api";

/**
 * How far a failed call got. `not-sent`: the connection failed before any byte of the request left
 * (refused, no route), so the agent did nothing. `answered`: the agent answered with its own error
 * (for a create, the agent has rolled back whatever it started). `unknown`: the request may have
 * reached the agent and taken effect (a timeout after sending, a connection broken mid-call).
 */
export type AgentDelivery = "not-sent" | "answered" | "unknown";

export class AgentCallError extends FsbError {
  readonly delivery: AgentDelivery;

  constructor(code: ErrorCode, message: string, options: FsbErrorOptions & { delivery: AgentDelivery }) {
    super(code, message, options);
    this.delivery = options.delivery;
  }
}

/** Connection errors that happen before a request is written: the agent cannot have seen it. */
const BEFORE_SEND = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/** Reads fetch's error (`TypeError: fetch failed` with the socket error somewhere in its causes). */
export function deliveryOfFetchError(err: unknown): AgentDelivery {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  const visit = (e: unknown) => {
    if (!e || typeof e !== "object" || seen.has(e)) return;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
    visit((e as { cause?: unknown }).cause);
    for (const inner of (e as { errors?: unknown[] }).errors ?? []) visit(inner);
  };
  visit(err);
  return codes.length > 0 && codes.every((c) => BEFORE_SEND.has(c)) ? "not-sent" : "unknown";
}

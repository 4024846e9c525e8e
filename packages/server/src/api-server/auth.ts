/** Bearer-token authentication of the API port: the RPC gate and the check for plain HTTP paths. */
import { createHash, timingSafeEqual } from "node:crypto";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";

/** Why a request is not authenticated, or undefined when it is. */
export type AuthFailure = "missing" | "malformed" | "wrong";

const messages: Record<AuthFailure, string> = {
  missing: "missing bearer token: send the header 'authorization: Bearer <token>'",
  malformed: "malformed authorization header: expected 'Bearer <token>'",
  wrong: "wrong bearer token",
};

/** The human-readable message for a failure (shown to clients). */
export function authFailureMessage(failure: AuthFailure): string {
  return messages[failure];
}

/** A configured token, kept as a digest so comparisons take the same time whatever the input. */
export class BearerToken {
  readonly #digest: Buffer;

  constructor(token: string) {
    this.#digest = digest(token);
  }

  /** Checks an `authorization` header value in constant time (with respect to the token). */
  check(header: string | null | undefined): AuthFailure | undefined {
    if (header === undefined || header === null || header.trim() === "") return "missing";
    const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return "malformed";
    return timingSafeEqual(digest(match[1]!), this.#digest) ? undefined : "wrong";
  }
}

/**
 * A Connect request gate: runs once the headers are in, before the request body is read or
 * parsed, so an unauthenticated client cannot make the server decode anything. Fails the call
 * with Code.Unauthenticated in whatever protocol the client speaks.
 */
export function bearerAuthGate(token: BearerToken): (context: HandlerContext) => void {
  return (context) => {
    const failure = token.check(context.requestHeader.get("authorization"));
    if (failure) throw new ConnectError(messages[failure], Code.Unauthenticated);
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** The one bearer-token check of every HTTP surface (the API port, the agent API, the controller's plain routes). */
import { createHash, timingSafeEqual } from "node:crypto";

/** Why a request is not authenticated. */
export type AuthFailure = "missing" | "malformed" | "wrong";

const messages: Record<AuthFailure, string> = {
  missing: "missing bearer token: send the header 'authorization: Bearer <token>'",
  malformed: "malformed authorization header: expected 'Bearer <token>'",
  wrong: "wrong bearer token",
};

/** The message a client is shown for `failure`. */
export function authFailureMessage(failure: AuthFailure): string {
  return messages[failure];
}

/**
 * `Bearer <token>`, the scheme in any case, surrounding spaces allowed. (Node's HTTP parsers strip
 * a header value's surrounding spaces already, so the leading `\s*` changes nothing on the wire.)
 */
const BEARER = /^\s*bearer\s+(\S+)\s*$/i;

/**
 * A configured token, kept as a SHA-256 digest: comparing two digests with timingSafeEqual takes
 * the same time whatever the presented token's length or content, so timing reveals nothing of it.
 */
export class BearerToken {
  readonly #digest: Buffer;

  constructor(token: string) {
    this.#digest = digest(token);
  }

  /** Checks an `authorization` header value; undefined when it carries this token. */
  check(header: string | readonly string[] | null | undefined): AuthFailure | undefined {
    const value = typeof header === "string" ? header : header?.[0];
    if (value === undefined || value.trim() === "") return "missing";
    const match = BEARER.exec(value);
    if (!match) return "malformed";
    return timingSafeEqual(digest(match[1]!), this.#digest) ? undefined : "wrong";
  }
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** The RPC side of bearer-token authentication on the API port: a Connect request gate. */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { authFailureMessage, type BearerToken } from "../http/bearer-token.ts";

/**
 * A Connect request gate: runs once the headers are in, before the request body is read or
 * parsed, so an unauthenticated client cannot make the server decode anything. Fails the call
 * with Code.Unauthenticated in whatever protocol the client speaks.
 */
export function bearerAuthGate(token: BearerToken): (context: HandlerContext) => void {
  return (context) => {
    const failure = token.check(context.requestHeader.get("authorization"));
    if (failure) throw new ConnectError(authFailureMessage(failure), Code.Unauthenticated);
  };
}

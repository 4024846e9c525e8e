/** What a resource namespace (`fsb.sandboxes`, `fsb.pools`) gets from its client: the RPC client and the call wrapper. */
import type { DescService } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { CallOptions } from "./call-options.ts";
import type { FastSandboxError } from "./errors.ts";

/** Call wrapper the client provides: applies the namespace default, timeouts and error translation. */
export interface CallContext<S extends DescService> {
  rpc: Client<S>;
  namespace: string;
  /** Runs a unary call with the client's deadline and error translation. */
  unary<T>(
    options: CallOptions,
    call: (signal: AbortSignal | undefined, timeoutMs: number | undefined) => Promise<T>,
  ): Promise<T>;
  /** Translates a failure of a stream. */
  translate(err: unknown): FastSandboxError;
}

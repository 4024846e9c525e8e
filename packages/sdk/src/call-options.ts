/** Per-call options every SDK method accepts: cancellation and a timeout. */

/** Options accepted by every call. */
export interface CallOptions {
  /** Cancels the call. */
  signal?: AbortSignal;
  /** Fails the call with a DEADLINE_EXCEEDED error after this long (default: the client's timeout). */
  timeoutMs?: number;
}

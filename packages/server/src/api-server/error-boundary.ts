/** Connect interceptor that turns whatever an RPC implementation throws into a proper status. */
import type { Interceptor } from "@connectrpc/connect";
import { type InternalErrorLogger, toConnectError } from "./error-codes.ts";

/**
 * The API's error boundary. Unary calls: errors thrown by the implementation become ConnectErrors
 * (see {@link toConnectError}). Server streams: the same for errors raised while iterating, and
 * the stream ends with the abort reason as soon as the call's signal or `shutdown` aborts (client
 * gone, deadline, server stopping), even when the implementation is blocked and ignores its
 * signal. Unary calls are not cut by `shutdown`: they may finish during the grace period.
 */
export function errorBoundary(log: InternalErrorLogger, shutdown?: AbortSignal): Interceptor {
  return (next) => async (req) => {
    const procedure = `/${req.service.typeName}/${req.method.name}`;
    const signal = req.stream && shutdown ? AbortSignal.any([shutdown, req.signal]) : req.signal;
    const convert = (err: unknown) => toConnectError(err, { procedure, log, signal });
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (err) {
      throw convert(err);
    }
    if (!res.stream) return res;
    return { ...res, message: guardStream(res.message, signal, convert) };
  };
}

/** Re-yields `source`, converting its errors and ending it (with the reason) when `signal` aborts. */
async function* guardStream<T>(
  source: AsyncIterable<T>,
  signal: AbortSignal,
  convert: (err: unknown) => Error,
): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => {});
  let finished = false;
  try {
    for (;;) {
      let step: IteratorResult<T>;
      try {
        // If the abort wins, a later failure of it.next() stays handled (race subscribed to it).
        step = await Promise.race([it.next(), aborted]);
      } catch (err) {
        throw convert(err);
      }
      if (step.done) {
        finished = true;
        if (signal.aborted) throw convert(signal.reason);
        return;
      }
      yield step.value;
    }
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
    if (!finished) {
      // Ended early (abort, error, client gone): let the implementation run its `finally` blocks
      // (unsubscribe, close files). If it is blocked in an await, this settles once that await
      // does; never wait for it here.
      try {
        void Promise.resolve(it.return?.()).catch(() => {});
      } catch {
        // A broken iterator's return() must not mask the stream's own outcome.
      }
    }
  }
}

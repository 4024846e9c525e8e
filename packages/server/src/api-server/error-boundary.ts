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

/**
 * Re-yields `source`, converting its errors and ending it (with the reason) when `signal` aborts.
 * Each step races the source against the signal with a listener of its own, removed once the step
 * settles. Racing every step against one long-lived "aborted" promise instead would leak: each race
 * leaves a reaction on that promise which holds the step's result, so every message a stream ever
 * sent (1 GiB of exec output, say) would stay in memory until the stream ended.
 */
export async function* guardStream<T>(
  source: AsyncIterable<T>,
  signal: AbortSignal,
  convert: (err: unknown) => Error,
): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      let step: IteratorResult<T>;
      try {
        step = await nextUnlessAborted(it, signal);
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

/** The iterator's next step, or the signal's reason if it aborts first. */
function nextUnlessAborted<T>(it: AsyncIterator<T>, signal: AbortSignal): Promise<IteratorResult<T>> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const settle = () => signal.removeEventListener("abort", onAbort);
    // If the abort wins, a later failure of it.next() is still handled here (and ignored).
    it.next().then(
      (step) => {
        settle();
        resolve(step);
      },
      (err: unknown) => {
        settle();
        reject(err);
      },
    );
  });
}

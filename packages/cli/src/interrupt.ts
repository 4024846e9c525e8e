/** Ctrl-C (or SIGTERM) as an AbortSignal, so streaming commands stop cleanly and exit 0. */

/** Aborts on the first SIGINT or SIGTERM; a second one gets Node's default (exit at once). */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return controller.signal;
}

/** The shared life of an entry point: start, stop once on SIGTERM/SIGINT, and never die of one bad request. */
import type { Logger } from "pino";

export interface Runnable {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `runnable`; the first SIGTERM or SIGINT stops it and exits 0 (1 if the stop failed). An
 * uncaught error is logged, not fatal: one bad request must not take a node's manager down. A
 * failed start exits 1.
 */
export async function runMain(runnable: Runnable, logger: Logger, stopMessage = "stopping"): Promise<void> {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, stopMessage);
    runnable.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "unclean stop");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("uncaughtException", (err) => logger.error({ err }, "uncaught exception"));
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));
  try {
    await runnable.start();
  } catch (err) {
    logger.fatal({ err }, "failed to start");
    await runnable.stop().catch(() => {});
    process.exit(1);
  }
}

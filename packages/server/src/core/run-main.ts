/** The shared life of an entry point: start, stop once on SIGTERM/SIGINT, and never die of one bad request. */
import { readFileSync } from "node:fs";
import { isFsbError } from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { Env, ReadFile } from "./config-values.ts";
import type { ParsedArgs } from "./flag-table.ts";
import { assertPortsFree, type FlaggedPort, portInUseError } from "./port-in-use.ts";
import type { Runnable } from "./runnable.ts";

/** Options of {@link runMain}. */
export interface RunMainOptions {
  /** The program, as its one-line errors begin (`fsb-agent: ...`). */
  name: string;
  /** Logged when a signal starts the stop. */
  stopMessage?: string;
  /** The fixed addresses it listens on, with their flags: checked before the start, named if taken. */
  ports?: readonly FlaggedPort[];
}

/** Exit code of a start refused because of what the command line asks for (as for a bad flag). */
export const EXIT_USAGE = 2;
/** Exit code of any other failed start. */
export const EXIT_FAILURE = 1;

/**
 * Starts `runnable`; the first SIGTERM, SIGINT or SIGHUP stops it and exits 0 (1 if the stop failed). An
 * uncaught error is logged, not fatal: one bad request must not take a node's manager down.
 * A start that fails because of a flag (a port in use, say) prints one line naming the flag and
 * exits 2, without a stack; any other failed start is logged in full and exits 1.
 */
export async function runMain(runnable: Runnable, logger: Logger, options: RunMainOptions): Promise<void> {
  const ports = options.ports ?? [];
  const abort = new AbortController();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, options.stopMessage ?? "stopping");
    abort.abort();
    runnable.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "unclean stop");
        process.exit(EXIT_FAILURE);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  // A closed terminal stops a daemon started from it cleanly instead of killing it mid-write.
  process.on("SIGHUP", () => shutdown("SIGHUP"));
  process.on("uncaughtException", (err) => logger.error({ err }, "uncaught exception"));
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));
  try {
    await assertPortsFree(ports);
  } catch (err) {
    exitForStartError(options.name, err, logger);
  }
  try {
    await runnable.start(abort.signal);
  } catch (err) {
    await runnable.stop().catch(() => {});
    exitForStartError(options.name, portInUseError(err, ports) ?? err, logger);
  }
}

/** Whether `err` blames a flag: the one-line, exit-2 kind of failure. */
export function isFlagError(err: unknown): boolean {
  return isFsbError(err) && err.field?.startsWith("--") === true;
}

function exitForStartError(name: string, err: unknown, logger: Logger): never {
  if (isFlagError(err)) {
    process.stderr.write(`${name}: ${(err as Error).message}\n`);
    process.exit(EXIT_USAGE);
  }
  logger.fatal({ err }, "failed to start");
  process.exit(EXIT_FAILURE);
}

/**
 * The config of an entry point from its command line, env and the files its flags name. A command
 * line it refuses is one line (`name: message`) and exit 2; `--help` prints the usage and exits 0.
 */
export function configOrExit<C>(
  name: string,
  parse: (argv: readonly string[], env: Env, readFile: ReadFile) => ParsedArgs<C>,
): C {
  let parsed: ParsedArgs<C>;
  try {
    parsed = parse(process.argv.slice(2), process.env, (p) => readFileSync(p, "utf8"));
  } catch (err) {
    process.stderr.write(`${name}: ${isFsbError(err) ? err.message : String(err)}\n`);
    process.exit(EXIT_USAGE);
  }
  if (parsed.help) {
    process.stdout.write(parsed.usage);
    process.exit(0);
  }
  return parsed.config;
}

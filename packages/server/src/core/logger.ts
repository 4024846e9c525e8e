/**
 * The logger of every entry point: pino's JSON lines for files, pipes and log collectors, readable
 * coloured lines on a terminal (kubectl and docker users expect that), chosen by --log-format.
 */
import { type Bindings, type Logger, pino } from "pino";
import type { Env } from "./config-values.ts";
import { formatLogLine } from "./log-format.ts";

export const LOG_FORMATS = ["auto", "json", "text"] as const;
/** `auto` is text on a terminal and JSON anywhere else. */
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  name: string;
  level: string;
  format: LogFormat;
  /** Fields on every line, such as the agent's id. */
  bindings?: Bindings;
  /** Where lines go; default stdout, written synchronously so a line before process.exit is not lost. */
  out?: { write(text: string): unknown; isTTY?: boolean };
  /** For NO_COLOR (https://no-color.org: any non-empty value turns colour off). */
  env?: Env;
}

export function createLogger(options: LoggerOptions): Logger {
  const isTTY = (options.out ?? process.stdout).isTTY === true;
  const out = options.out ?? pino.destination({ dest: 1, sync: true });
  const env = options.env ?? process.env;
  const text = options.format === "text" || (options.format === "auto" && isTTY);
  const base = { name: options.name, level: options.level };
  const colour = text && isTTY && !env.NO_COLOR;
  const logger = pino(base, {
    write: text
      ? (line: string) => void out.write(formatLogLine(line, { colour }))
      : (line: string) => void out.write(line),
  });
  return options.bindings ? logger.child(options.bindings) : logger;
}

/**
 * pino's JSON lines as a person reads them on a terminal: time, level (coloured), component,
 * message, then the other fields as key=value, and an error's stack below. Pure, for unit tests.
 */

/** Fields every line has, shown in their own place or not at all. */
const PLACED = new Set(["time", "level", "msg", "component", "name", "pid", "hostname", "err"]);

/** pino's numeric levels, as the terminal shows them, with an SGR colour each. */
const LEVELS: ReadonlyArray<{ from: number; label: string; colour: number }> = [
  { from: 60, label: "FATAL", colour: 35 },
  { from: 50, label: "ERROR", colour: 31 },
  { from: 40, label: "WARN", colour: 33 },
  { from: 30, label: "INFO", colour: 32 },
  { from: 20, label: "DEBUG", colour: 36 },
  { from: 0, label: "TRACE", colour: 90 },
];
const LEVEL_WIDTH = 5;

export interface TextLogOptions {
  colour: boolean;
  /** Minutes east of UTC the time is shown in; default the machine's zone at that time. */
  utcOffsetMinutes?: number;
}

/** One pino line (with or without its newline) as text ending in a newline; a line that is not JSON passes as is. */
export function formatLogLine(line: string, options: TextLogOptions): string {
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return ensureNewline(line);
    record = parsed as Record<string, unknown>;
  } catch {
    return ensureNewline(line);
  }
  const paint = (code: number, text: string) => (options.colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  const level = levelOf(record.level);
  const parts = [
    paint(2, clockTime(record.time, options.utcOffsetMinutes)),
    paint(level.colour, level.label.padEnd(LEVEL_WIDTH)),
  ];
  const component = record.component ?? record.name;
  if (typeof component === "string" && component) parts.push(paint(36, component));
  if (record.msg !== undefined) parts.push(String(record.msg));
  const err = errorOf(record.err);
  // A stack (shown below) starts with the message; without one the message is a field.
  if (err?.message && !err.stack && err.message !== record.msg) parts.push(`err=${quote(err.message)}`);
  for (const [key, value] of Object.entries(record)) {
    if (PLACED.has(key) || value === undefined) continue;
    parts.push(`${paint(2, `${key}=`)}${fieldValue(value)}`);
  }
  const stack = err?.stack ? `\n${paint(2, indent(err.stack))}` : "";
  return `${parts.join(" ")}${stack}\n`;
}

function levelOf(level: unknown): { label: string; colour: number } {
  if (typeof level === "string") return { label: level.toUpperCase(), colour: 0 };
  const n = typeof level === "number" ? level : 30;
  return LEVELS.find((l) => n >= l.from) ?? LEVELS[LEVELS.length - 1]!;
}

/** `HH:MM:SS.mmm`: a terminal shows today's lines; the JSON log keeps the full timestamp. */
function clockTime(time: unknown, utcOffsetMinutes: number | undefined): string {
  const ms = typeof time === "number" ? time : typeof time === "string" ? Date.parse(time) : Number.NaN;
  if (Number.isNaN(ms)) return "--:--:--.---";
  const offset = utcOffsetMinutes ?? -new Date(ms).getTimezoneOffset();
  const shifted = new Date(ms + offset * 60_000);
  return shifted.toISOString().slice(11, 23);
}

function errorOf(err: unknown): { message?: string; stack?: string } | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const { message, stack } = err as { message?: unknown; stack?: unknown };
  return {
    ...(typeof message === "string" ? { message } : {}),
    ...(typeof stack === "string" ? { stack } : {}),
  };
}

/** Strings bare when they are one plain word, else quoted; everything else as compact JSON. */
function fieldValue(value: unknown): string {
  if (typeof value === "string") return quote(value);
  return JSON.stringify(value) ?? String(value);
}

function quote(text: string): string {
  return /^[\w./:@+-]+$/.test(text) ? text : JSON.stringify(text);
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `    ${line.trim()}`)
    .join("\n");
}

function ensureNewline(line: string): string {
  return line.endsWith("\n") ? line : `${line}\n`;
}

/** The NDJSON framing of an exec stream: one JSON object and a newline per event (pure). */
import type { AgentExecEvent, AgentProcessExit } from "./agent-responses.ts";
import type { OutputChunk, TakenOutput } from "./output-buffer.ts";

/** The media type of the exec and attach streams. */
export const NDJSON_CONTENT_TYPE = "application/x-ndjson";

/** One event as one line. JSON escapes newlines inside strings, so a line is always one event. */
export function eventLine(event: AgentExecEvent): string {
  return `${JSON.stringify(event)}\n`;
}

/** Output bytes as an event of their stream, base64 so any bytes survive JSON. */
export function outputEvent(chunk: OutputChunk): AgentExecEvent {
  const data = chunk.data.toString("base64");
  return chunk.stream === "stdout" ? { stdout: data } : { stderr: data };
}

/** The lines that replay buffered output: a `dropped` line first when bytes were lost, then the chunks. */
export function replayLines(taken: TakenOutput): string[] {
  const lines = taken.dropped > 0 ? [eventLine({ dropped: taken.dropped })] : [];
  for (const chunk of taken.chunks) lines.push(eventLine(outputEvent(chunk)));
  return lines;
}

export function exitLine(exit: AgentProcessExit): string {
  return eventLine({ exit });
}

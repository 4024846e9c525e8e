/** Reads the agent's NDJSON exec and attach streams in tests: events as parsed objects, output decoded. */
import type { AgentProcess } from "./agent-process.ts";

/** One event of the stream, as the agent sends it. */
export type ExecEvent = Record<string, any>;

/** An open exec or attach stream. */
export interface ExecStream {
  status: number;
  /** The error body when the status is not 200. */
  body: any;
  /** Events as they arrive; ends with the stream. */
  events: AsyncGenerator<ExecEvent>;
  /** Closes the connection (the process keeps running on the agent). */
  close(): void;
}

/** Opens `POST route` with `body` and reads its NDJSON lines. */
export async function openStream(agent: AgentProcess, route: string, body: unknown): Promise<ExecStream> {
  const abort = new AbortController();
  const res = await fetch(`${agent.url}${route}`, {
    method: "POST",
    headers: { authorization: `Bearer ${agent.token}` },
    body: JSON.stringify(body),
    signal: abort.signal,
  });
  if (res.status !== 200) {
    return { status: res.status, body: await res.json(), events: (async function* () {})(), close() {} };
  }
  const reader = res.body!.getReader();
  async function* events(): AsyncGenerator<ExecEvent> {
    const decoder = new TextDecoder();
    let pending = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        pending += decoder.decode(value, { stream: true });
        let nl = pending.indexOf("\n");
        while (nl >= 0) {
          yield JSON.parse(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
          nl = pending.indexOf("\n");
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
  }
  return { status: 200, body: undefined, events: events(), close: () => abort.abort() };
}

/** Everything a finished stream said: output per stream, the exit or error, and dropped bytes. */
export interface ExecResult {
  started: { processId: string; pid: number } | undefined;
  stdout: string;
  stderr: string;
  dropped: number;
  exit: { exitCode: number; signal: string; timedOut: boolean } | undefined;
  error: { code: string; message: string } | undefined;
  lines: number;
}

/** Reads a stream to its end. */
export async function collect(stream: ExecStream): Promise<ExecResult> {
  const result: ExecResult = {
    started: undefined,
    stdout: "",
    stderr: "",
    dropped: 0,
    exit: undefined,
    error: undefined,
    lines: 0,
  };
  for await (const event of stream.events) {
    result.lines += 1;
    if (event.started) result.started = event.started;
    if (event.stdout !== undefined) result.stdout += Buffer.from(event.stdout, "base64").toString("latin1");
    if (event.stderr !== undefined) result.stderr += Buffer.from(event.stderr, "base64").toString("latin1");
    if (event.dropped !== undefined) result.dropped += event.dropped;
    if (event.exit) result.exit = event.exit;
    if (event.error) result.error = event.error;
  }
  return result;
}

/** Runs a command to its end. */
export async function execToEnd(agent: AgentProcess, body: Record<string, unknown>): Promise<ExecResult> {
  const stream = await openStream(agent, "/api/v1/agent/exec", body);
  if (stream.status !== 200)
    throw new Error(`exec answered ${stream.status}: ${JSON.stringify(stream.body)}`);
  return collect(stream);
}

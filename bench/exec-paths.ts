/** The exec benchmark's three ways to run `echo hi` in one sandbox: the SDK, the agent's HTTP route, the containerd floor. */
import type { Sandbox } from "@fast-sandbox/sdk";
import type { ExecFloor } from "./exec-floor.ts";

/** What every path runs: argv, no shell, so each path starts the same single process. */
export const ECHO_ARGV = ["echo", "hi"];
const ECHO_OUTPUT = "hi\n";
/** Bound on one exec; an echo takes milliseconds, so this only catches hangs. */
const CALL_TIMEOUT_MS = 30_000;

export type ExecPathName = "sdk" | "agent" | "floor";

/** One timed exec of {@link ECHO_ARGV}: resolves to its latency in milliseconds, after checking the output. */
export interface ExecPath {
  name: ExecPathName;
  exec(): Promise<number>;
}

/** Where the sandbox's agent listens, with its token, and the sandbox's id there. */
export interface AgentTarget {
  url: string;
  token: string;
  sandboxId: string;
}

/** Throws unless a run wrote exactly `hi\n` and nothing else, and exited 0. */
function check(path: ExecPathName, stdout: string, stderr: string, exitCode: number): void {
  if (stdout !== ECHO_OUTPUT || stderr !== "" || exitCode !== 0) {
    throw new Error(
      `${path}: echo hi gave exit ${exitCode}, stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)}`,
    );
  }
}

/** What users get: `sandbox.exec` of the TypeScript SDK (Connect over HTTP/1.1, one kept-alive connection), until it resolves. */
export function sdkPath(box: Sandbox): ExecPath {
  return {
    name: "sdk",
    async exec() {
      const started = performance.now();
      const r = await box.exec(ECHO_ARGV, { timeoutMs: CALL_TIMEOUT_MS });
      const ms = performance.now() - started;
      check("sdk", r.stdout, r.stderr, r.exitCode);
      return ms;
    },
  };
}

/** The agent alone: `POST /api/v1/agent/exec` (fetch, kept-alive), timed until the NDJSON stream has ended. */
export function agentPath(target: AgentTarget): ExecPath {
  const body = JSON.stringify({ sandboxId: target.sandboxId, command: ECHO_ARGV });
  return {
    name: "agent",
    async exec() {
      const started = performance.now();
      const res = await fetch(`${target.url}/api/v1/agent/exec`, {
        method: "POST",
        headers: { authorization: `Bearer ${target.token}`, "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      const text = await res.text();
      const ms = performance.now() - started;
      if (res.status !== 200) throw new Error(`agent exec answered ${res.status}: ${text}`);
      const { stdout, stderr, exitCode } = decodeStream(text);
      check("agent", stdout, stderr, exitCode);
      return ms;
    },
  };
}

/** The floor: Tasks.Exec + Start + Wait + the output read, over containerd's API. */
export function floorPath(floor: ExecFloor): ExecPath {
  return {
    name: "floor",
    async exec() {
      const r = await floor.exec();
      check("floor", r.stdout, r.stderr, r.exitStatus);
      return r.ms;
    },
  };
}

/** The agent's NDJSON events (started, stdout/stderr base64, exit or error) reduced to output and exit code. */
function decodeStream(text: string): { stdout: string; stderr: string; exitCode: number } {
  let stdout = "";
  let stderr = "";
  let exitCode = Number.NaN;
  for (const line of text.split("\n")) {
    if (!line) continue;
    const event = JSON.parse(line) as {
      stdout?: string;
      stderr?: string;
      exit?: { exitCode: number };
      error?: { code: string; message: string };
    };
    if (event.stdout !== undefined) stdout += Buffer.from(event.stdout, "base64").toString("utf8");
    if (event.stderr !== undefined) stderr += Buffer.from(event.stderr, "base64").toString("utf8");
    if (event.exit) exitCode = event.exit.exitCode;
    if (event.error) throw new Error(`agent exec ended with ${event.error.code}: ${event.error.message}`);
  }
  return { stdout, stderr, exitCode };
}

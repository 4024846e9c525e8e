/**
 * Connecting from inside a real sandbox, through the agent's exec API and the image's busybox `nc`:
 * what the network tests prove each "never" and each allowed path with.
 */
import assert from "node:assert/strict";
import os from "node:os";
import type { AgentProcess } from "./agent-process.ts";
import { execToEnd } from "./exec-stream.ts";

/** A refusal is a reset from the agent's firewall: far below nc's own 3 s timeout. */
export const REFUSED_WITHIN_MS = 1500;

/** What `nc host port` printed from inside the sandbox (what it read, or its complaint), and how long it took. */
export async function connectFrom(
  agent: AgentProcess,
  sandboxId: string,
  host: string,
  port: number,
): Promise<{ out: string; code: number | undefined; ms: number }> {
  const started = performance.now();
  const r = await execToEnd(agent, { sandboxId, command: ["nc", "-w", "3", host, String(port)] });
  return { out: `${r.stdout}${r.stderr}`.trim(), code: r.exit?.exitCode, ms: performance.now() - started };
}

/** Asserts the connect was refused at once, not left to time out. */
export async function assertRefusedFrom(
  agent: AgentProcess,
  sandboxId: string,
  host: string,
  port: number,
  what: string,
): Promise<void> {
  const r = await connectFrom(agent, sandboxId, host, port);
  assert.match(r.out, /refused/i, `${what}: ${JSON.stringify(r)}`);
  assert.ok(
    r.ms < REFUSED_WITHIN_MS,
    `${what} took ${Math.round(r.ms)} ms: a refusal must not wait out a timeout`,
  );
}

/** An address of the node's own, on an interface that is no sandbox's. */
export function nodeAddress(): string {
  for (const [name, addresses] of Object.entries(os.networkInterfaces())) {
    if (name === "lo" || name.startsWith("fsb")) continue;
    const v4 = addresses?.find((a) => a.family === "IPv4" && !a.internal);
    if (v4) return v4.address;
  }
  throw new Error("the node has no IPv4 address beside loopback");
}

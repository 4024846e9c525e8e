/** The ways bench/agent.ts gets a running sandbox: through fsb-agent, prewarmed, the containerd floor, and ctr. */

import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import path from "node:path";
import { parseCreateRequest } from "../packages/server/src/agent/agent-requests.ts";
import type { ContainerdConnection } from "../packages/server/src/containerd/connection.ts";
import type { ContainerRuntime } from "../packages/server/src/containerd/container-runtime.ts";
import type { ResolvedImage } from "../packages/server/src/containerd/image-resolver.ts";
import type { AgentProcess } from "../test/harness/agent-process.ts";
import { TEST_IMAGE } from "../test/harness/constants.ts";
import { FLOOR_SNAPSHOTTER, floorCreate } from "./floor-create.ts";

/** All three paths create their containers in this namespace of the bench containerd. */
export const BENCH_NAMESPACE = "fsb-bench";
/** The direct path's spec gets its own shim group (its own shim), like a second agent would. */
export const DIRECT_AGENT_ID = "bench-direct";
export const SNAPSHOTTER = FLOOR_SNAPSHOTTER;
/** What every sandbox runs: long enough that nothing exits during a run. */
export const COMMAND = ["sleep", "3600"];
/**
 * What the prewarmed path's sandboxes run. It differs from {@link COMMAND}, so the agent path's
 * creates never match the prewarm template and keep measuring a create from nothing.
 */
export const PREWARM_COMMAND = ["sleep", "3601"];
/** Prewarmed containers the agent keeps; each timed take is followed by an untimed wait for the refill. */
export const PREWARM_COUNT = 2;
/** How often the untimed refill wait polls the agent's status. */
export const REFILL_POLL_MS = 5;
/** Bound on one HTTP call or ctr process; a create takes ~100 ms, so this only catches hangs. */
export const CALL_TIMEOUT_MS = 30_000;

export type PathName = "agent" | "direct" | "ctr" | "prewarm";

/** One way of getting a running sandbox: a timed create+start and an untimed teardown. */
export interface BenchPath {
  name: PathName;
  /**
   * Whether the bench keeps an anchor container on the path's shared shim. Such a shim exits when
   * its last container is deleted. fsb-agent keeps its own anchor (as users get it), so the agent
   * paths get nothing from the bench; the direct floor has no agent, so it gets one, and so stands
   * for containerd's cost with a running shim.
   */
  needsAnchor: boolean;
  /** Creates and starts container `id`; resolves to the timed part in milliseconds. */
  createStart(id: string): Promise<number>;
  /** Removes container `id` and everything it left; untimed and idempotent. */
  teardown(id: string): Promise<void>;
}

/** The create request the agent gets; the direct path parses the same body into the same spec. */
function createBody(id: string) {
  return { sandbox: { sandboxId: id, name: id, image: TEST_IMAGE, command: COMMAND } };
}

/** Sends JSON with the agent's token; throws unless the answer is 200, else returns the parsed answer. */
export async function callAgent(
  agent: AgentProcess,
  method: "GET" | "POST" | "PUT",
  route: string,
  body?: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${agent.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${agent.token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`agent ${method} ${route} answered ${res.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** POSTs JSON with the agent's token; throws unless the answer is 200. */
async function postAgent(agent: AgentProcess, route: string, body: string): Promise<Record<string, unknown>> {
  return callAgent(agent, "POST", route, body);
}

/** Path 1: the full product path, timed at the HTTP client (keep-alive connection). */
export function agentPath(agent: AgentProcess): BenchPath {
  return {
    name: "agent",
    needsAnchor: false,
    async createStart(id) {
      const body = JSON.stringify(createBody(id));
      const started = performance.now();
      await postAgent(agent, "/api/v1/agent/create", body);
      return performance.now() - started;
    },
    async teardown(id) {
      await postAgent(
        agent,
        "/api/v1/agent/delete",
        JSON.stringify({ sandboxId: id, gracePeriodSeconds: 0 }),
      );
    },
  };
}

/** The prewarm template of path 4, as `PUT /api/v1/agent/prewarm` takes it. */
export const prewarmTemplate = { image: TEST_IMAGE, command: PREWARM_COMMAND, count: PREWARM_COUNT };

/** Untimed: waits until the agent has every prewarmed container of the template ready again. */
export async function waitPrewarmReady(agent: AgentProcess): Promise<void> {
  const deadline = Date.now() + CALL_TIMEOUT_MS;
  for (;;) {
    const status = await callAgent(agent, "GET", "/api/v1/agent/status");
    const templates = (status.prewarm as { templates: Array<{ ready: number; error?: string }> }).templates;
    const template = templates[0];
    if (template?.ready === PREWARM_COUNT) return;
    if (template?.error) throw new Error(`the agent cannot prewarm: ${template.error}`);
    if (Date.now() > deadline) throw new Error(`prewarmed containers not ready after ${CALL_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, REFILL_POLL_MS));
  }
}

/**
 * Path 4: a create the agent serves by starting a prewarmed container, timed at the HTTP client as
 * path 1 is. A create that did not get one fails the run rather than skew the numbers; the teardown
 * waits (untimed) for the refill, so no other path's timed create overlaps it.
 */
export function prewarmPath(agent: AgentProcess): BenchPath {
  return {
    name: "prewarm",
    // Its containers run on the agent's shim, which the agent's own anchor keeps up.
    needsAnchor: false,
    async createStart(id) {
      const body = JSON.stringify({
        sandbox: { sandboxId: id, name: id, image: TEST_IMAGE, command: PREWARM_COMMAND },
      });
      const started = performance.now();
      const answer = await postAgent(agent, "/api/v1/agent/create", body);
      const elapsed = performance.now() - started;
      if (answer.prewarmed !== true)
        throw new Error(`create ${id} was not served from a prewarmed container`);
      return elapsed;
    },
    async teardown(id) {
      await postAgent(
        agent,
        "/api/v1/agent/delete",
        JSON.stringify({ sandboxId: id, gracePeriodSeconds: 0 }),
      );
      await waitPrewarmReady(agent);
    },
  };
}

/**
 * Path 2, the floor: only the four containerd calls a create cannot do without, made as the agent
 * makes them, with the spec and labels the agent would send (built untimed) and no per-run image
 * resolve.
 */
export function directPath(
  conn: ContainerdConnection,
  runtime: ContainerRuntime,
  image: ResolvedImage,
  logDir: string,
): BenchPath {
  const logPath = (id: string) => path.join(logDir, `${id}.log`);
  return {
    name: "direct",
    needsAnchor: true,
    async createStart(id) {
      const spec = parseCreateRequest(createBody(id));
      return floorCreate(conn, image, spec, {
        agentId: DIRECT_AGENT_ID,
        pool: "bench",
        logPath: logPath(id),
      });
    },
    async teardown(id) {
      await runtime.delete(id, { gracePeriodMs: 0 });
      await rm(logPath(id), { force: true });
    },
  };
}

/** Path 3: the stock client, timed as a whole process (its own start-up included). */
export function ctrPath(socketPath: string): BenchPath {
  const ctr = (...args: string[]) =>
    runProcess("ctr", ["--address", socketPath, "--namespace", BENCH_NAMESPACE, ...args]);
  return {
    name: "ctr",
    needsAnchor: false,
    async createStart(id) {
      const started = performance.now();
      await ctr("run", "-d", TEST_IMAGE, id, ...COMMAND);
      return performance.now() - started;
    },
    async teardown(id) {
      // `task rm -f` kills with SIGKILL and waits for the exit; ctr also removes the FIFOs `run` made.
      await ctr("task", "rm", "-f", id);
      await ctr("container", "rm", id);
    },
  };
}

/** Runs a program to completion; rejects with its stderr on a non-zero exit. */
export function runProcess(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], timeout: CALL_TIMEOUT_MS });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${file} ${args.join(" ")} failed (${signal ?? code}): ${stderr.trim()}`));
    });
  });
}

/**
 * Rounds of one create per path, each followed by its untimed teardown, the order turning each round
 * so no path always follows another: every path sees the same load. Samples per path, warm-up left out.
 */
export async function measureInterleaved(
  paths: BenchPath[],
  runs: number,
  warmup: number,
): Promise<number[][]> {
  const samples = paths.map((): number[] => []);
  for (let i = 0; i < warmup + runs; i++) {
    for (let k = 0; k < paths.length; k++) {
      const which = (k + i) % paths.length;
      const id = `fsb-bench-i${which}-${i}`;
      const elapsed = await paths[which]!.createStart(id);
      await paths[which]!.teardown(id);
      if (i >= warmup) samples[which]!.push(elapsed);
    }
  }
  return samples;
}

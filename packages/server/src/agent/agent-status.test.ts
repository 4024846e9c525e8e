// GET /status answers from the agent's memory: in milliseconds even while containerd is frozen, and
// kept current by task events (exits, OOM kills) without any containerd list.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type AgentProcess,
  removeLogDir,
  startAgentProcess,
} from "../../../../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_NAMESPACE } from "../../../../test/harness/constants.ts";
import { testConnection, testContainerdSocket } from "../../../../test/harness/containerd.ts";
import { eventually } from "../../../../test/harness/leftovers.ts";
import type { ContainerdConnection } from "../containerd/connection.ts";
import { ContainerRuntime } from "../containerd/container-runtime.ts";
import { PrivateContainerd } from "../standalone/private-containerd.ts";

/** A status a controller gets within this is "in milliseconds" on a loaded 2-CPU machine; a containerd call would never come back. */
const FAST_ANSWER_MS = 1000;
/** How long a request waits before it counts as hung. */
const REQUEST_TIMEOUT_MS = 3000;
/** A stop gives up removing the anchor after 5 s (shim-anchor.ts); this leaves room for the rest. */
const FROZEN_STOP_BOUND_MS = 10_000;

/** A GET without token (or with one), timed, that fails instead of hanging. */
async function timedGet(agent: AgentProcess, route: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${agent.url}${route}`, {
    headers: { authorization: `Bearer ${agent.token}` },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

/** A counter or histogram count from the agent's metrics, 0 if absent. */
async function metric(agent: AgentProcess, name: string): Promise<number> {
  const text = String((await agent.request("GET", "/metrics")).body);
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
  return match ? Number(match[1]) : 0;
}

describe("agent status while its containerd is frozen", () => {
  let containerd: PrivateContainerd;
  let agent: AgentProcess | undefined;
  let frozen = false;

  before(async () => {
    // A containerd of this test's own, so freezing it stops no other test; under the run's directory,
    // which the runner removes.
    const socket = await testContainerdSocket();
    containerd = new PrivateContainerd({ dir: path.join(path.dirname(socket), `frozen-${process.pid}`) });
    await containerd.start();
    // The shim anchor needs no image, so an empty namespace serves; resync every second, so one is
    // certainly stuck on the frozen containerd while status is asked.
    agent = await startAgentProcess({
      socketPath: containerd.socketPath,
      namespace: "fsb-frozen",
      extraArgs: ["--resync-interval", "1"],
    });
  });
  after(async () => {
    if (frozen) process.kill(containerd.pid!, "SIGCONT");
    await agent?.stop();
    if (agent) await removeLogDir(agent.logDir);
    if (containerd?.pid) {
      // The anchor an agent stopped while containerd was frozen could not remove.
      const conn = containerd.connect("fsb-frozen");
      const runtime = new ContainerRuntime(conn);
      for (const c of await runtime.list({})) await runtime.delete(c.id, { gracePeriodMs: 0 });
      conn.close();
    }
    await containerd?.stop();
  });

  it("answers /status and /healthz in milliseconds", async () => {
    const current = agent!;
    assert.equal((await timedGet(current, "/api/v1/agent/status")).status, 200);
    process.kill(containerd.pid!, "SIGSTOP");
    frozen = true;
    try {
      // Past the resync interval: a resync now waits on containerd, and so would a status that asked it.
      await new Promise((r) => setTimeout(r, 1500));
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const status = await timedGet(current, "/api/v1/agent/status");
        const health = await timedGet(current, "/healthz");
        assert.equal(status.status, 200);
        assert.equal(health.status, 200);
        times.push(status.ms, health.ms);
      }
      const slowest = Math.max(...times);
      console.log(
        `# status and healthz with containerd frozen: slowest ${slowest.toFixed(1)} ms of ${times.length}`,
      );
      assert.ok(slowest < FAST_ANSWER_MS, `an answer took ${slowest} ms`);
    } finally {
      process.kill(containerd.pid!, "SIGCONT");
      frozen = false;
    }
  });

  it("stops within bounds while containerd is frozen, leaving its anchor for the janitor", async () => {
    const current = agent!;
    process.kill(containerd.pid!, "SIGSTOP");
    frozen = true;
    try {
      const started = performance.now();
      await current.stop();
      agent = undefined;
      const ms = performance.now() - started;
      console.log(`# stop with containerd frozen: ${Math.round(ms)} ms`);
      assert.ok(ms < FROZEN_STOP_BOUND_MS, `stop took ${ms} ms`);
      await removeLogDir(current.logDir);
    } finally {
      process.kill(containerd.pid!, "SIGCONT");
      frozen = false;
    }
  });
});

describe("agent status kept by task events", () => {
  let conn: ContainerdConnection;
  let agent: AgentProcess;
  let seq = 0;

  const create = async (command: string[], extra: Record<string, unknown> = {}) => {
    seq += 1;
    const sandboxId = `${agent.agentId}-e${seq}`;
    const res = await agent.request("POST", "/api/v1/agent/create", {
      sandbox: { sandboxId, name: `ev${seq}`, image: TEST_IMAGE, command, ...extra },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return sandboxId;
  };
  const statusOf = async (sandboxId: string) => {
    const res = await agent.request("GET", "/api/v1/agent/status");
    return (res.body.sandboxes as Array<Record<string, any>>).find((s) => s.sandboxId === sandboxId);
  };
  const remove = (sandboxId: string) =>
    agent.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 0 });

  before(async () => {
    conn = await testConnection();
    // No periodic resync during the test: only the one after subscribing.
    agent = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      extraArgs: ["--resync-interval", "3600"],
    });
    await eventually(
      () => metric(agent, "fsb_agent_resync_duration_seconds_count"),
      (n) => n >= 1,
    );
  });
  after(async () => {
    await agent.stop();
    await removeLogDir(agent.logDir);
    conn.close();
  });

  it("reflects an exit from its event alone, with no resync and no containerd list", async () => {
    const resyncs = await metric(agent, "fsb_agent_resync_duration_seconds_count");
    const reads = await metric(agent, "fsb_agent_resync_task_reads_total");
    const sandboxId = await create(["sh", "-c", "sleep 0.3; exit 3"]);
    const exited = await eventually(
      () => statusOf(sandboxId),
      (s) => s?.phase === "Exited",
    );
    assert.equal(exited?.exitCode, 3);
    assert.equal(exited?.taskState, "stopped");
    assert.equal(exited?.exitReason, null);
    assert.equal(await metric(agent, "fsb_agent_resync_duration_seconds_count"), resyncs);
    assert.equal(await metric(agent, "fsb_agent_resync_task_reads_total"), reads);
    assert.equal((await remove(sandboxId)).status, 200);
  });

  it("reports a process the OOM killer ended with exitReason OOMKilled", async () => {
    const sandboxId = await create(["sh", "-c", "x=0123456789abcdef; while true; do x=$x$x; done"], {
      resources: { memory: "16Mi" },
    });
    const exited = await eventually(
      () => statusOf(sandboxId),
      (s) => s?.phase === "Exited",
    );
    assert.equal(exited?.exitCode, 137);
    assert.equal(exited?.exitReason, "OOMKilled");
    assert.equal((await remove(sandboxId)).status, 200);
  });

  it("moves the revision with every change, and only then", async () => {
    const revision = async () => (await agent.request("GET", "/api/v1/agent/status")).body.revision as number;
    const first = await revision();
    assert.ok(Number.isInteger(first) && first > 0);
    assert.equal(await revision(), first, "nothing changed, yet the revision moved");
    const sandboxId = await create(["sleep", "600"]);
    const created = await revision();
    assert.ok(created > first);
    assert.equal((await remove(sandboxId)).status, 200);
    assert.ok((await revision()) > created);
  });
});

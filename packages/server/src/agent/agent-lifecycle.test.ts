// Sandbox lifecycle through a real fsb-agent process on the real test containerd.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { anchorContainerId } from "@fast-sandbox/api";
import {
  type AgentProcess,
  removeLogDir,
  startAgentProcess,
} from "../../../../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_NAMESPACE } from "../../../../test/harness/constants.ts";
import { testConnection } from "../../../../test/harness/containerd.ts";
import {
  eventually,
  leftoversOf,
  nothingLeft,
  parentPid,
  processRuns,
} from "../../../../test/harness/leftovers.ts";
import type { ContainerdConnection } from "../containerd/connection.ts";

let agent: AgentProcess;
let conn: ContainerdConnection;
let seq = 0;

function sandbox(command: string[], extra: Record<string, unknown> = {}) {
  seq += 1;
  const sandboxId = `${agent.agentId}-s${seq}`;
  return {
    sandboxId,
    body: { sandbox: { sandboxId, name: `box${seq}`, image: TEST_IMAGE, command, ...extra } },
  };
}

async function status(sandboxId: string) {
  const res = await agent.request("GET", "/api/v1/agent/status");
  assert.equal(res.status, 200);
  return (res.body.sandboxes as Array<Record<string, any>>).find((s) => s.sandboxId === sandboxId);
}

async function logs(sandboxId: string, follow = false): Promise<string> {
  const res = await agent.request("GET", `/api/v1/agent/logs?sandboxId=${sandboxId}&follow=${follow}`);
  assert.equal(res.status, 200);
  return res.body as string;
}

describe("agent lifecycle", () => {
  before(async () => {
    conn = await testConnection();
    agent = await startAgentProcess({ socketPath: conn.socketPath, namespace: TEST_NAMESPACE, capacity: 5 });
  });
  after(async () => {
    await agent.stop();
    await removeLogDir(agent.logDir);
    conn.close();
  });

  it("creates a running sandbox whose output reaches the log, and deletes it leaving nothing", async () => {
    const { sandboxId, body } = sandbox(["sh", "-c", "echo hello-from-sandbox; exec sleep 600"], {
      exposedPorts: [18080],
      env: { GREETING: "hi" },
    });
    const created = await agent.request("POST", "/api/v1/agent/create", body);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.success, true);
    assert.equal(created.body.phase, "Running");
    assert.deepEqual(created.body.endpoints, ["127.0.0.1:18080"]);
    assert.ok(processRuns(created.body.pid));

    const live = await status(sandboxId);
    assert.equal(live?.taskState, "running");
    assert.equal(live?.image, "docker.io/library/busybox:latest");
    const logText = await eventually(
      () => logs(sandboxId),
      (t) => t.includes("hello-from-sandbox"),
    );
    assert.match(logText, /hello-from-sandbox/);
    const logPath = `${agent.logDir}/${sandboxId}.log`;
    assert.ok(existsSync(logPath));

    const deleted = await agent.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 1 });
    assert.equal(deleted.status, 200);
    assert.deepEqual(await leftoversOf(conn, sandboxId), nothingLeft);
    assert.equal(processRuns(created.body.pid), false);
    // Log policy: a sandbox's log lives exactly as long as the sandbox; delete removes it.
    assert.equal(existsSync(logPath), false);
    assert.equal(await status(sandboxId), undefined);
  });

  it("runs all of an agent's sandboxes under the one shim its anchor keeps, which outlives the last of them", async () => {
    const anchor = await conn.tasks.get({ containerId: anchorContainerId(agent.agentId) });
    assert.ok(anchor.process && processRuns(anchor.process.pid), "the agent has no running shim anchor");
    const shim = parentPid(anchor.process.pid);
    const made = [];
    for (let i = 0; i < 3; i++) {
      const { sandboxId, body } = sandbox(["sleep", "600"]);
      const res = await agent.request("POST", "/api/v1/agent/create", body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      made.push({ sandboxId, pid: res.body.pid as number });
    }
    assert.deepEqual(
      made.map((m) => parentPid(m.pid)),
      [shim, shim, shim],
      "every sandbox runs under the anchor's shim",
    );
    for (const m of made) {
      const res = await agent.request("POST", "/api/v1/agent/delete", {
        sandboxId: m.sandboxId,
        gracePeriodSeconds: 0,
      });
      assert.equal(res.status, 200);
    }
    assert.ok(processRuns(shim), "the shim exited with the last sandbox although the anchor runs");
    assert.ok(processRuns(anchor.process.pid));
  });

  it("reports the exit code of a process that exits", async () => {
    const { sandboxId, body } = sandbox(["sh", "-c", "echo bye; exit 3"]);
    assert.equal((await agent.request("POST", "/api/v1/agent/create", body)).status, 200);
    const exited = await eventually(
      () => status(sandboxId),
      (s) => s?.phase === "Exited",
    );
    assert.equal(exited?.exitCode, 3);
    assert.equal(exited?.taskState, "stopped");
    assert.match(await logs(sandboxId), /bye/);
    assert.equal((await agent.request("POST", "/api/v1/agent/delete", { sandboxId })).status, 200);
    assert.deepEqual(await leftoversOf(conn, sandboxId), nothingLeft);
  });

  it("follows the log: lines written after the request started arrive, and the stream ends at exit", async () => {
    const { sandboxId, body } = sandbox(["sh", "-c", "echo early; sleep 1; echo late; sleep 0.3; exit 0"]);
    assert.equal((await agent.request("POST", "/api/v1/agent/create", body)).status, 200);
    const started = Date.now();
    const followed = await logs(sandboxId, true);
    assert.match(followed, /early\nlate\n/);
    assert.ok(Date.now() - started >= 900, "stream ended before the late line could be written");
    assert.equal((await agent.request("POST", "/api/v1/agent/delete", { sandboxId })).status, 200);
  });

  it("follows the log through a delete: what the process writes on SIGTERM arrives before the stream ends", async () => {
    const { sandboxId, body } = sandbox([
      "sh",
      "-c",
      "trap 'sleep 0.5; echo got-term; exit 0' TERM; echo ready; sleep 600 & wait",
    ]);
    assert.equal((await agent.request("POST", "/api/v1/agent/create", body)).status, 200);
    await eventually(
      () => logs(sandboxId),
      (text) => text === "ready\n",
    );
    const followed = logs(sandboxId, true);
    const deleted = await agent.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 5 });
    assert.equal(deleted.status, 200);
    assert.equal(await followed, "ready\ngot-term\n");
  });

  it("keeps the log of a sandbox deleted with keepLog until a final delete", async () => {
    const { sandboxId, body } = sandbox(["sh", "-c", "echo kept-output; exit 1"]);
    assert.equal((await agent.request("POST", "/api/v1/agent/create", body)).status, 200);
    await eventually(
      () => status(sandboxId),
      (s) => s?.phase === "Exited",
    );
    const kept = await agent.request("POST", "/api/v1/agent/delete", { sandboxId, keepLog: true });
    assert.equal(kept.status, 200);
    assert.deepEqual(await leftoversOf(conn, sandboxId), nothingLeft);
    assert.equal(await status(sandboxId), undefined, "a deleted sandbox still holds a slot");
    assert.match(await logs(sandboxId), /kept-output/);
    assert.match(await logs(sandboxId, true), /kept-output/, "following a kept log must end at once");

    assert.equal((await agent.request("POST", "/api/v1/agent/delete", { sandboxId })).status, 200);
    const gone = await agent.request("GET", `/api/v1/agent/logs?sandboxId=${sandboxId}`);
    assert.equal(gone.status, 404);
  });

  it("is idempotent: the same create twice returns the same sandbox, a different spec conflicts", async () => {
    const { sandboxId, body } = sandbox(["sleep", "600"]);
    const first = await agent.request("POST", "/api/v1/agent/create", body);
    const second = await agent.request("POST", "/api/v1/agent/create", body);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.equal(second.body.pid, first.body.pid);
    const conflicting = structuredClone(body);
    conflicting.sandbox.command = ["sleep", "601"];
    const conflict = await agent.request("POST", "/api/v1/agent/create", conflicting);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error.code, "ALREADY_EXISTS");

    for (let i = 0; i < 2; i++) {
      const res = await agent.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 0 });
      assert.equal(res.status, 200, "a repeated delete must succeed");
    }
    const unknown = await agent.request("POST", "/api/v1/agent/delete", { sandboxId: "never-existed" });
    assert.equal(unknown.status, 200);
    assert.deepEqual(await leftoversOf(conn, sandboxId), nothingLeft);
  });

  it("concurrent creates of the same id make one container", async () => {
    const { sandboxId, body } = sandbox(["sleep", "600"]);
    const results = await Promise.all(
      [1, 2, 3].map(() => agent.request("POST", "/api/v1/agent/create", body)),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200],
    );
    assert.equal(new Set(results.map((r) => r.body.pid)).size, 1);
    assert.equal(
      (await agent.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 0 })).status,
      200,
    );
  });

  it("SIGKILLs a process that ignores SIGTERM once the grace period ends", async () => {
    const { sandboxId, body } = sandbox([
      "sh",
      "-c",
      "trap '' TERM; echo ready; while true; do sleep 0.1; done",
    ]);
    assert.equal((await agent.request("POST", "/api/v1/agent/create", body)).status, 200);
    await eventually(
      () => logs(sandboxId),
      (t) => t.includes("ready"),
    );
    const started = Date.now();
    const res = await agent.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 2 });
    const took = Date.now() - started;
    assert.equal(res.status, 200);
    assert.ok(took >= 1900, `deleted after ${took} ms, before the grace period ended`);
    assert.ok(took < 8000, `delete took ${took} ms`);
    assert.deepEqual(await leftoversOf(conn, sandboxId), nothingLeft);
  });

  it("stops a process that handles SIGTERM without waiting for the grace period", async () => {
    const { sandboxId, body } = sandbox([
      "sh",
      "-c",
      "trap 'exit 0' TERM; echo ready; while true; do sleep 0.1; done",
    ]);
    assert.equal((await agent.request("POST", "/api/v1/agent/create", body)).status, 200);
    // Until the trap is set, PID 1 has no handler and the kernel drops SIGTERM.
    await eventually(
      () => logs(sandboxId),
      (t) => t.includes("ready"),
    );
    const started = Date.now();
    const res = await agent.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 30 });
    assert.equal(res.status, 200);
    assert.ok(Date.now() - started < 5000, "delete waited for the grace period though the process exited");
  });

  it("rolls back a create whose command cannot run, leaving nothing", async () => {
    const { sandboxId, body } = sandbox(["/no/such/binary"]);
    const res = await agent.request("POST", "/api/v1/agent/create", body);
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, "INVALID_ARGUMENT");
    assert.equal(res.body.error.field, "sandbox.command");
    assert.match(res.body.error.message, /"\/no\/such\/binary" was not found in the image/);
    assert.deepEqual(await leftoversOf(conn, sandboxId), nothingLeft);
    assert.equal(existsSync(`${agent.logDir}/${sandboxId}.log`), false);
    assert.equal(await status(sandboxId), undefined);
  });
});

describe("agent capacity", () => {
  let small: AgentProcess;
  before(async () => {
    conn = await testConnection();
    small = await startAgentProcess({ socketPath: conn.socketPath, namespace: TEST_NAMESPACE, capacity: 2 });
  });
  after(async () => {
    await small.stop();
    await removeLogDir(small.logDir);
    conn.close();
  });

  it("rejects a create beyond AGENT_CAPACITY with RESOURCE_EXHAUSTED and no side effect", async () => {
    const ids = [1, 2, 3].map((i) => `${small.agentId}-c${i}`);
    const create = (id: string) =>
      small.request("POST", "/api/v1/agent/create", {
        sandbox: { sandboxId: id, name: id.slice(-2), image: TEST_IMAGE, command: ["sleep", "600"] },
      });
    // All three at once: the slot check must not race.
    const results = await Promise.all(ids.map(create));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 429]);
    const rejected = ids[results.findIndex((r) => r.status === 429)]!;
    assert.equal(results.find((r) => r.status === 429)?.body.error.code, "RESOURCE_EXHAUSTED");
    assert.deepEqual(await leftoversOf(conn, rejected), nothingLeft);
    const st = await small.request("GET", "/api/v1/agent/status");
    assert.equal(st.body.allocated, 2);
    assert.equal(st.body.capacity, 2);
    for (const id of ids)
      await small.request("POST", "/api/v1/agent/delete", { sandboxId: id, gracePeriodSeconds: 0 });
    assert.equal((await small.request("GET", "/api/v1/agent/status")).body.allocated, 0);
  });
});

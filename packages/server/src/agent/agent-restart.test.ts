// Restart safety: sandboxes outlive the agent process, and a new agent re-adopts them with their logs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Labels, managedByValue } from "@fast-sandbox/api";
import {
  type AgentProcess,
  freePort,
  removeLogDir,
  startAgentProcess,
  tempLogDir,
} from "../../../../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_NAMESPACE } from "../../../../test/harness/constants.ts";
import { testConnection } from "../../../../test/harness/containerd.ts";
import { eventually, leftoversOf, nothingLeft, processRuns } from "../../../../test/harness/leftovers.ts";
import type { ContainerdConnection } from "../containerd/connection.ts";
import { RUNC_SHIM } from "../containerd/container-runtime.ts";
import { ImageResolver } from "../containerd/image-resolver.ts";
import { buildSpec } from "../containerd/oci-spec.ts";
import { specToAny } from "../containerd/spec-any.ts";

describe("agent restart", () => {
  let conn: ContainerdConnection;
  let logDir: string;
  let port: number;
  const agentId = `restart-${process.pid}`;
  let agent: AgentProcess | undefined;
  const start = async () => {
    agent = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      agentId,
      logDir,
      port,
    });
    return agent;
  };

  before(async () => {
    conn = await testConnection();
    logDir = await tempLogDir();
    port = await freePort();
  });
  after(async () => {
    // Whatever a failed assertion left running is removed through the agent, as a user would.
    const current = agent ?? (await start());
    for (const id of [`${agentId}-ticker`, `${agentId}-exits`, `${agentId}-term`]) {
      await current.request("POST", "/api/v1/agent/delete", { sandboxId: id, gracePeriodSeconds: 0 });
    }
    await current.stop();
    await removeLogDir(logDir);
    conn.close();
  });

  it("keeps sandboxes running through kill -9 and re-adopts them, phases, exit codes and logs included", async () => {
    const first = await start();
    const ticker = `${agentId}-ticker`;
    const exits = `${agentId}-exits`;
    const create = (sandboxId: string, command: string[]) =>
      first.request("POST", "/api/v1/agent/create", {
        sandbox: {
          sandboxId,
          name: sandboxId.split("-").at(-1),
          image: TEST_IMAGE,
          command,
          exposedPorts: [19090],
        },
      });
    const tick = await create(ticker, [
      "sh",
      "-c",
      "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done",
    ]);
    assert.equal(tick.status, 200);
    assert.equal((await create(exits, ["sh", "-c", "exit 7"])).status, 200);
    await eventually(
      () => first.request("GET", `/api/v1/agent/logs?sandboxId=${ticker}`),
      (r) => String(r.body).includes("tick-2"),
    );

    await first.kill9();
    agent = undefined;
    assert.ok(processRuns(tick.body.pid), "the sandbox died with the agent");

    const second = await start();
    const st = await second.request("GET", "/api/v1/agent/status");
    assert.equal(st.body.allocated, 2);
    const byId = new Map((st.body.sandboxes as Array<Record<string, any>>).map((s) => [s.sandboxId, s]));
    assert.equal(byId.get(ticker)?.phase, "Running");
    assert.equal(byId.get(ticker)?.pid, tick.body.pid);
    assert.deepEqual(byId.get(ticker)?.endpoints, ["127.0.0.1:19090"]);
    assert.equal(byId.get(exits)?.phase, "Exited");
    assert.equal(byId.get(exits)?.exitCode, 7);

    // The log written before the restart is still there, and new output keeps arriving.
    const before = String((await second.request("GET", `/api/v1/agent/logs?sandboxId=${ticker}`)).body);
    assert.match(before, /tick-0\ntick-1\ntick-2/);
    const lines = before.trim().split("\n").length;
    const later = await eventually(
      async () => String((await second.request("GET", `/api/v1/agent/logs?sandboxId=${ticker}`)).body),
      (text) => text.trim().split("\n").length > lines + 2,
    );
    assert.ok(later.trim().split("\n").length > lines + 2, "no new output after the restart");

    // The adopted sandbox still follows the full lifecycle.
    assert.equal(
      (await second.request("POST", "/api/v1/agent/delete", { sandboxId: ticker, gracePeriodSeconds: 0 }))
        .status,
      200,
    );
    assert.equal((await second.request("POST", "/api/v1/agent/delete", { sandboxId: exits })).status, 200);
    assert.deepEqual(await leftoversOf(conn, ticker), nothingLeft);
    assert.deepEqual(await leftoversOf(conn, exits), nothingLeft);
    assert.equal((await second.request("GET", "/api/v1/agent/status")).body.allocated, 0);
  });

  it("stops serving on SIGTERM but leaves sandboxes running", async () => {
    const current = agent ?? (await start());
    const sandboxId = `${agentId}-term`;
    const created = await current.request("POST", "/api/v1/agent/create", {
      sandbox: { sandboxId, name: "term", image: TEST_IMAGE, command: ["sleep", "600"] },
    });
    assert.equal(created.status, 200);
    await current.stop();
    agent = undefined;
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), "the agent still answers after SIGTERM");
    assert.ok(processRuns(created.body.pid));

    const next = await start();
    const st = await next.request("GET", "/api/v1/agent/status");
    assert.equal(st.body.sandboxes[0]?.sandboxId, sandboxId);
    assert.equal(st.body.sandboxes[0]?.phase, "Running");
  });
});

describe("agent start-up cleanup", () => {
  it("removes a container left without a task and a snapshot left without a container", async () => {
    const conn = await testConnection();
    const agentId = `crash-${process.pid}`;
    const images = new ImageResolver(conn);
    const image = await images.resolve(TEST_IMAGE);
    const halfContainer = `${agentId}-half`;
    const lonelySnapshot = `${agentId}-snap`;
    const owned = (id: string) => ({ ...ownership(agentId, id) });
    // What a crash mid-create leaves: a labelled snapshot with no container, and a container with no task.
    await conn.snapshots.prepare({
      snapshotter: "overlayfs",
      key: lonelySnapshot,
      parent: image.chainId,
      labels: owned(lonelySnapshot),
    });
    await conn.snapshots.prepare({
      snapshotter: "overlayfs",
      key: halfContainer,
      parent: image.chainId,
      labels: owned(halfContainer),
    });
    const logDir = await tempLogDir();
    await conn.containers.create({
      container: {
        id: halfContainer,
        image: TEST_IMAGE,
        labels: {
          ...owned(halfContainer),
          [Labels.CreatedAt]: new Date().toISOString(),
          [Labels.LogPath]: `${logDir}/${halfContainer}.log`,
        },
        runtime: { name: RUNC_SHIM },
        spec: specToAny(buildSpec()),
        snapshotter: "overlayfs",
        snapshotKey: halfContainer,
      },
    });
    const agent = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      agentId,
      logDir,
    });
    try {
      assert.deepEqual(await leftoversOf(conn, halfContainer), nothingLeft);
      assert.deepEqual(await leftoversOf(conn, lonelySnapshot), nothingLeft);
      assert.equal((await agent.request("GET", "/api/v1/agent/status")).body.allocated, 0);
    } finally {
      await agent.stop();
      await removeLogDir(logDir);
      conn.close();
    }
  });
});

function ownership(agentId: string, id: string): Record<string, string> {
  return { [Labels.ManagedBy]: managedByValue, [Labels.Agent]: agentId, [Labels.SandboxId]: id };
}

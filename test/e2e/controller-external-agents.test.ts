// Self-registered agents: they join by heartbeat, survive a controller restart without being
// recreated, and a delete while their agent is down waits (finalizer kept) until it is back.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { FailurePolicy } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import {
  type AgentProcess,
  freePort,
  removeLogDir,
  startAgentProcess,
  tempLogDir,
} from "../harness/agent-process.ts";
import { TEST_NAMESPACE } from "../harness/constants.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually, leftoversOf, nothingLeft } from "../harness/leftovers.ts";

describe("self-registered agents", () => {
  let conn: ContainerdConnection;
  let ctl: ControllerProcess;
  let agent: AgentProcess | undefined;
  let scratch: string;
  let logDir: string;
  let agentPort: number;
  const agentId = `ext-${process.pid}`;

  const startAgent = async () => {
    agent = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      agentId,
      capacity: 2,
      logDir,
      port: agentPort,
      token: ctl.agentToken,
      extraArgs: ["--controller-url", ctl.url, "--controller-token-file", path.join(scratch, "token")],
    });
    await eventually(
      async () =>
        (
          await ctl.client
            .createSandbox({ name: "probe-ext", image: "busybox", command: ["true"] })
            .catch(() => undefined)
        )?.sandbox?.agent,
      (placed) => placed === agentId,
      15_000,
    ).finally(() => ctl.client.deleteSandbox({ name: "probe-ext", gracePeriodSeconds: 0 }).catch(() => {}));
  };

  before(async () => {
    conn = await testConnection();
    scratch = await mkdtemp(path.join(os.tmpdir(), "fsb-ext-"));
    logDir = await tempLogDir();
    agentPort = await freePort();
    // No local agents: the external agent is the whole pool.
    ctl = await startControllerProcess({ socketPath: conn.socketPath, localAgents: 0, lossTimeout: "8s" });
    await writeFile(path.join(scratch, "token"), ctl.token, { mode: 0o600 });
    await startAgent();
  });
  after(async () => {
    if (!agent) await startAgent().catch(() => {});
    await ctl.cleanup();
    await agent?.stop();
    await removeLogDir(logDir);
    await rm(scratch, { recursive: true, force: true });
    conn.close();
  });

  it("places sandboxes on an agent that registered itself", async () => {
    await eventually(
      () =>
        ctl.client.getSandbox({ name: "probe-ext" }).then(
          () => true,
          () => false,
        ),
      (v) => !v,
    );
    const created = await ctl.client.createSandbox({
      name: "ext-1",
      image: "busybox",
      command: ["sleep", "600"],
      failurePolicy: FailurePolicy.AUTO_RECREATE,
    });
    assert.equal(created.sandbox?.agent, agentId);
  });

  it("does not recreate them when the controller restarts; a create right after the restart waits for the agent to come back", async (t) => {
    const before = await eventually(
      () => ctl.client.getSandbox({ name: "ext-1" }),
      (s) => s.uid !== "",
    );
    await ctl.kill9();
    // Down for longer than a heartbeat (5 s): the agent's registrations fail meanwhile, and it must
    // then retry every second, not wait for its next heartbeat.
    await new Promise((r) => setTimeout(r, 5500));
    ctl = await startControllerProcess({ ...ctl.options, reuse: ctl });
    const readyAt = Date.now();
    // The agent has not registered with this controller yet: the create waits for it (no
    // RESOURCE_EXHAUSTED), and gets it within about a second of the API opening.
    const created = await ctl.client.createSandbox({
      name: "ext-after",
      image: "busybox",
      command: ["sleep", "60"],
    });
    const waitedMs = Date.now() - readyAt;
    t.diagnostic(`the first create after the restart answered ${waitedMs} ms after the controller was ready`);
    assert.equal(created.sandbox?.agent, agentId);
    assert.ok(waitedMs < 2500, `the create waited ${waitedMs} ms for the agent to register again`);
    await ctl.client.deleteSandbox({ name: "ext-after", gracePeriodSeconds: 0 });
    const after = await ctl.client.getSandbox({ name: "ext-1" });
    assert.equal(after.phase, "Running");
    assert.equal(after.sandboxId, before.sandboxId);
    assert.equal(after.recreations, 0);
  });

  it("keeps a deleted sandbox Terminating while its agent is down (less than the loss timeout), and finishes when it is back", async () => {
    const { sandboxId } = await ctl.client.getSandbox({ name: "ext-1" });
    await agent!.kill9();
    agent = undefined;
    await ctl.client.deleteSandbox({ name: "ext-1", gracePeriodSeconds: 0 });
    await new Promise((r) => setTimeout(r, 2000));
    const waiting = await ctl.client.getSandbox({ name: "ext-1" });
    assert.equal(waiting.phase, "Terminating", "the finalizer went while the container may still exist");
    assert.equal((await leftoversOf(conn, sandboxId)).container, true);

    await startAgent();
    await eventually(
      () =>
        ctl.client.getSandbox({ name: "ext-1" }).then(
          () => "present",
          () => "gone",
        ),
      (v) => v === "gone",
      20_000,
    );
    // Removed by the agent, or (had the restart outlasted the loss timeout) as an orphan once it reported it.
    assert.deepEqual(
      await eventually(
        () => leftoversOf(conn, sandboxId),
        (l) => !l.container && !l.snapshot,
        30_000,
      ),
      nothingLeft,
    );
  });
});

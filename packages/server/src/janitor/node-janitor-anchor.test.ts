// The janitor and a real agent's shim anchor on the real test containerd: kept while the agent
// exists, removed (with its shim) once the agent is gone, as prewarmed containers are.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { anchorContainerId } from "@fast-sandbox/api";
import { pino } from "pino";
import {
  type AgentProcess,
  removeLogDir,
  startAgentProcess,
} from "../../../../test/harness/agent-process.ts";
import { testContainerdSocket } from "../../../../test/harness/containerd.ts";
import {
  eventually,
  leftoversOf,
  nothingLeft,
  parentPid,
  processRuns,
} from "../../../../test/harness/leftovers.ts";
import { ContainerdConnection } from "../containerd/connection.ts";
import { ContainerRuntime } from "../containerd/container-runtime.ts";
import { JanitorMetrics } from "./janitor-metrics.ts";
import { NodeJanitor } from "./node-janitor.ts";
import { Ownership, type OwnershipSource } from "./ownership.ts";

/** Ownership as a fixed list of agents and no Sandbox objects (the anchor never has one). */
const agentsExist = (...agents: string[]): OwnershipSource => ({
  read: async () => new Ownership({ sandboxes: [], agents }),
});

describe("the janitor and shim anchors", () => {
  // A namespace of its own: the janitor judges every container in it, and nothing of other tests.
  const namespace = `fsb-test-anchor-${process.pid}`;
  let socket: string;
  let conn: ContainerdConnection;
  let agent: AgentProcess | undefined;

  const janitor = (ownership: OwnershipSource, logDir: string) =>
    new NodeJanitor({
      connection: conn,
      ownership,
      logger: pino({ level: "silent" }),
      metrics: new JanitorMetrics(),
      // Zero: the anchor made a moment ago is judged by ownership, not spared for its youth.
      orphanTimeoutMs: 0,
      logDir,
      logRetentionMs: 3_600_000,
      containerdState: path.join(path.dirname(socket), "state"),
      dryRun: false,
    });

  before(async () => {
    socket = await testContainerdSocket();
    conn = new ContainerdConnection({ socketPath: socket, namespace });
    // The anchor needs no image, so an empty namespace serves.
    agent = await startAgentProcess({ socketPath: socket, namespace });
  });
  after(async () => {
    await agent?.stop();
    if (agent) await removeLogDir(agent.logDir);
    const runtime = new ContainerRuntime(conn);
    for (const c of await runtime.list({})) await runtime.delete(c.id, { gracePeriodMs: 0 });
    conn.close();
  });

  it("keeps the anchor of an agent that exists", async () => {
    const { agentId, logDir } = agent!;
    const report = await janitor(agentsExist(agentId), logDir).scan();
    assert.deepEqual(report.containers, [
      { id: anchorContainerId(agentId), verdict: { action: "keep", reason: "anchor" } },
    ]);
    assert.deepEqual(report.findings, []);
    assert.equal((await leftoversOf(conn, anchorContainerId(agentId))).container, true);
  });

  it("removes the anchor of an agent that is gone, and its shim with it", async () => {
    const { agentId, logDir } = agent!;
    const id = anchorContainerId(agentId);
    const task = await conn.tasks.get({ containerId: id });
    const shim = parentPid(task.process!.pid);
    // Killed for good: nothing of the agent removes its anchor.
    await agent!.kill9();
    agent = undefined;
    const report = await janitor(agentsExist("some-other-agent"), logDir).scan();
    assert.deepEqual(report.findings, [{ kind: "container", id, reason: "agent-gone", outcome: "removed" }]);
    assert.deepEqual(await leftoversOf(conn, id), nothingLeft);
    assert.equal(
      await eventually(
        () => processRuns(shim),
        (runs) => !runs,
      ),
      false,
      "the anchor's shim outlived it",
    );
    await removeLogDir(logDir);
  });
});

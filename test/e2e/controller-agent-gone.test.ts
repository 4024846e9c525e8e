// Sandboxes of an agent that is gone for good: a delete finishes within about the loss timeout and
// leaves the container to be removed when (if ever) the agent shows it again; after a controller
// restart, sandboxes whose agent never comes back are Lost, AutoRecreate moves them to another agent,
// and deletes finish. Agents here register themselves, so nothing relaunches them behind the test's back.
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

const LOSS_TIMEOUT_MS = 4000;
/** Slack for probe intervals and a loaded machine on top of the loss timeout. */
const SLACK_MS = 8000;
const SLEEP = { image: "busybox", command: ["sleep", "600"] };

/** One self-registered agent that can be killed and brought back under the same id, port and log dir. */
interface ExternalAgent {
  id: string;
  port: number;
  logDir: string;
  proc: AgentProcess | undefined;
}

describe("sandboxes of an agent gone for good", () => {
  let conn: ContainerdConnection;
  let ctl: ControllerProcess;
  let scratch: string;
  const agents: ExternalAgent[] = [];

  const healthyAgents = async (n: number) => {
    const line = `fsb_registry_agents{state="healthy"} ${n}`;
    const text = await eventually(
      async () => (await fetch(`http://127.0.0.1:${ctl.ports.metrics}/metrics`)).text(),
      (m) => m.includes(line),
      20_000,
    );
    assert.ok(text.includes(line), `expected ${line}`);
  };

  const newAgent = async (suffix: string): Promise<ExternalAgent> => {
    const agent = {
      id: `gone-${suffix}-${process.pid}`,
      port: await freePort(),
      logDir: await tempLogDir(),
      proc: undefined,
    };
    agents.push(agent);
    return agent;
  };

  const start = async (agent: ExternalAgent) => {
    agent.proc = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      agentId: agent.id,
      capacity: 4,
      logDir: agent.logDir,
      port: agent.port,
      token: ctl.agentToken,
      extraArgs: ["--controller-url", ctl.url, "--controller-token-file", path.join(scratch, "token")],
    });
  };

  const kill = async (agent: ExternalAgent) => {
    await agent.proc?.kill9();
    agent.proc = undefined;
  };

  const gone = (name: string) =>
    ctl.client.getSandbox({ name }).then(
      () => false,
      () => true,
    );

  before(async () => {
    conn = await testConnection();
    scratch = await mkdtemp(path.join(os.tmpdir(), "fsb-gone-"));
    ctl = await startControllerProcess({
      socketPath: conn.socketPath,
      localAgents: 0,
      lossTimeout: `${LOSS_TIMEOUT_MS}ms`,
      orphanTimeout: "3s",
    });
    await writeFile(path.join(scratch, "token"), ctl.token, { mode: 0o600 });
  });
  after(async () => {
    // Every agent back, so the cleanup can remove what they hold.
    for (const agent of agents) if (!agent.proc) await start(agent).catch(() => {});
    await ctl.cleanup();
    for (const agent of agents) {
      await agent.proc?.stop();
      await removeLogDir(agent.logDir);
    }
    await rm(scratch, { recursive: true, force: true });
    conn.close();
  });

  it("a delete whose agent stopped for good finishes within about the loss timeout; the container goes once the agent shows it again", async () => {
    const a = await newAgent("a");
    await start(a);
    await healthyAgents(1);
    const { sandbox } = await ctl.client.createSandbox({ name: "doomed", ...SLEEP });
    assert.equal(sandbox?.agent, a.id);

    await kill(a);
    const deletedAt = Date.now();
    await ctl.client.deleteSandbox({ name: "doomed", gracePeriodSeconds: 0 });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(
      (await ctl.client.getSandbox({ name: "doomed" })).phase,
      "Terminating",
      "it waits while the agent may come back",
    );

    assert.ok(
      await eventually(() => gone("doomed"), Boolean, LOSS_TIMEOUT_MS + SLACK_MS),
      "still there after the loss timeout",
    );
    const took = Date.now() - deletedAt;
    assert.ok(took >= LOSS_TIMEOUT_MS - 1500, `gone after ${took} ms, before the agent could be lost`);
    // The controller logs before it deletes the object, but its output reaches this process through
    // a pipe that may be read after the API's answer: wait for the line rather than race the pipe.
    const leftToJanitor = /its container, if it still exists, is left to the janitor/;
    assert.match(
      await eventually(
        async () => ctl.output(),
        (out) => leftToJanitor.test(out),
        5000,
      ),
      leftToJanitor,
    );
    // Nothing could remove it meanwhile: the agent is dead.
    assert.equal((await leftoversOf(conn, sandbox!.sandboxId)).container, true);

    // The agent comes back and adopts it; no object owns it any more, so it is removed.
    await start(a);
    const left = await eventually(
      () => leftoversOf(conn, sandbox!.sandboxId),
      (l) => !l.container && !l.snapshot,
      30_000,
    );
    assert.deepEqual(left, nothingLeft);
  });

  it("after a controller restart, an agent that never comes back: its sandboxes are Lost, AutoRecreate moves them, and deletes finish", async () => {
    const [a] = agents;
    await healthyAgents(1);
    const phoenix = (
      await ctl.client.createSandbox({
        name: "phoenix",
        ...SLEEP,
        failurePolicy: FailurePolicy.AUTO_RECREATE,
      })
    ).sandbox!;
    const stuck = (await ctl.client.createSandbox({ name: "stuck", ...SLEEP })).sandbox!;
    assert.equal(phoenix.agent, a!.id);
    assert.equal(stuck.agent, a!.id);
    for (const name of ["phoenix", "stuck"]) {
      await eventually(
        () => ctl.client.getSandbox({ name }),
        (s) => s.uid !== "",
      );
    }

    await ctl.kill9();
    await kill(a!);
    ctl = await startControllerProcess({ ...ctl.options, reuse: ctl });
    const restartedAt = Date.now();
    const b = await newAgent("b");
    await start(b);

    await ctl.client.deleteSandbox({ name: "stuck", gracePeriodSeconds: 0 });
    assert.ok(
      await eventually(() => gone("stuck"), Boolean, LOSS_TIMEOUT_MS + SLACK_MS),
      "stuck is still there",
    );
    assert.ok(
      Date.now() - restartedAt >= LOSS_TIMEOUT_MS - 1000,
      "deleted before the agent could count as gone",
    );

    const moved = await eventually(
      () => ctl.client.getSandbox({ name: "phoenix" }),
      (s) => s.phase === "Running" && s.agent === b.id,
      LOSS_TIMEOUT_MS + SLACK_MS + 10_000,
    );
    assert.equal(moved.agent, b.id);
    assert.equal(moved.recreations, 1);
    assert.notEqual(moved.sandboxId, phoenix.sandboxId);
    assert.match(ctl.output(), /sandbox lost with its agent/);

    // The dead agent's containers outlive it; when it returns they are orphans and go.
    await start(a!);
    for (const id of [phoenix.sandboxId, stuck.sandboxId]) {
      const left = await eventually(
        () => leftoversOf(conn, id),
        (l) => !l.container && !l.snapshot,
        30_000,
      );
      assert.deepEqual(left, nothingLeft, id);
    }
  });
});

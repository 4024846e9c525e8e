// A controller restarted after kill -9 finds every local agent process it ever started by PID:
// it adopts the recorded one, stops any other process of an agent id (or of an id nobody wants),
// and brings back an agent id whose sandboxes still run even when the state file lost it.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ConsistencyMode } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { isProcessRunning } from "../../packages/server/src/core/proc-fs.ts";
import { stopProcess } from "../../packages/server/src/core/stop-process.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually, leftoversOf, nothingLeft } from "../harness/leftovers.ts";
import { kill9, readLocalAgents, startStrayAgent } from "../harness/local-agents.ts";

describe("local agents after a controller kill -9", () => {
  let conn: ContainerdConnection;
  let ctl: ControllerProcess;
  /** Processes this test started itself; stopped by PID in `after`, whatever happened. */
  const strays: number[] = [];
  const agentsDir = () => path.join(ctl.dataDir, "agents");

  before(async () => {
    conn = await testConnection();
    // One agent of one slot to start with; the pool may grow to two, and drains any free slot.
    ctl = await startControllerProcess({
      socketPath: conn.socketPath,
      localAgents: 1,
      capacity: 1,
      extraArgs: ["--pool-max", "2", "--pool-buffer-max", "0"],
    });
  });
  after(async () => {
    for (const pid of strays) await stopProcess(pid, 1000);
    // A test that failed between a kill and a restart left the agents without their controller.
    if (
      !(await ctl.client.listSandboxes({}).then(
        () => true,
        () => false,
      ))
    ) {
      ctl = await startControllerProcess({ ...ctl.options, reuse: ctl });
    }
    await ctl.cleanup();
    conn.close();
  });

  it("brings back an agent the state file lost while containerd still runs its sandbox", async () => {
    await ctl.client.createSandbox({ name: "stays", image: "busybox", command: ["sleep", "600"] });
    // No slot is free, so the pool grows to a second agent and the strong create waits for it.
    const leaving = await ctl.client.createSandbox({
      name: "leaving",
      image: "busybox",
      command: ["sleep", "600"],
      consistencyMode: ConsistencyMode.STRONG,
    });
    const lostId = leaving.sandbox!.agent;
    const lost = (await readLocalAgents(agentsDir())).find((a) => a.agentId === lostId)!;
    assert.ok(lost, `agent ${lostId} is not in the state file`);
    // Deleted with a grace period its PID 1 ignores, and cut short by crashes: the controller,
    // then the agent, die while the container still runs. With one sandbox left, the pool needs
    // one agent, so only the sandbox's container can bring this one back.
    await ctl.client.deleteSandbox({ name: "leaving", gracePeriodSeconds: 5 });
    await ctl.kill9();
    await kill9(lost.pid);
    const listed = (await readLocalAgents(agentsDir())).filter((a) => a.agentId !== lostId);
    await writeFile(path.join(agentsDir(), "local-agents.json"), JSON.stringify(listed));

    ctl = await startControllerProcess({ ...ctl.options, reuse: ctl });
    const back = (await readLocalAgents(agentsDir())).find((a) => a.agentId === lostId);
    assert.ok(back, `agent ${lostId} was not brought back`);
    assert.notEqual(back.pid, lost.pid);
    assert.ok(isProcessRunning(back.pid));
    const gone = await eventually(
      async () => (await ctl.client.listSandboxes({})).sandboxes.map((s) => s.name),
      (names) => !names.includes("leaving"),
      20_000,
    );
    assert.deepEqual(gone, ["stays"], "the delete finished through the agent that came back");
    assert.deepEqual(await leftoversOf(conn, leaving.sandbox!.sandboxId), nothingLeft);
    // Empty now and not needed: the pool controller drains and stops it, as any agent.
    const ids = await eventually(
      async () => (await readLocalAgents(agentsDir())).map((a) => a.agentId),
      (ids) => !ids.includes(lostId),
      20_000,
    );
    assert.deepEqual(ids, [`${ctl.agentPrefix}-0`], "the agent that came back was not removed once empty");
    assert.equal(isProcessRunning(back.pid), false);
  });

  it("adopts the recorded process and stops a second one of that id and one of an unwanted id", async () => {
    const [recorded] = await readLocalAgents(agentsDir());
    assert.ok(recorded);
    await ctl.kill9();
    const output = path.join(ctl.dataDir, "strays.log");
    // Its PID file now names the second process; the state file still names the first.
    const twin = await startStrayAgent(recorded.pid, ctl.agentToken, output);
    strays.push(twin);
    const unwantedId = `${ctl.agentPrefix}-9`;
    const unwanted = await startStrayAgent(recorded.pid, ctl.agentToken, output, {
      agentId: unwantedId,
      pidFile: path.join(agentsDir(), `${unwantedId}.pid`),
    });
    strays.push(unwanted);

    ctl = await startControllerProcess({ ...ctl.options, reuse: ctl });
    assert.deepEqual(
      (await readLocalAgents(agentsDir())).map((a) => [a.agentId, a.pid]),
      [[recorded.agentId, recorded.pid]],
      "the recorded agent was adopted",
    );
    assert.equal(isProcessRunning(recorded.pid), true);
    assert.equal(isProcessRunning(twin), false, "the second process of the same id still runs");
    assert.equal(isProcessRunning(unwanted), false, "the process of an unwanted id still runs");
    assert.equal((await ctl.client.getSandbox({ name: "stays" })).phase, "Running");
  });

  it("relaunches an agent whose recorded process died, after stopping the unrecorded one of its id", async () => {
    const [recorded] = await readLocalAgents(agentsDir());
    assert.ok(recorded);
    await ctl.kill9();
    const stray = await startStrayAgent(recorded.pid, ctl.agentToken, path.join(ctl.dataDir, "strays.log"));
    strays.push(stray);
    await kill9(recorded.pid);

    ctl = await startControllerProcess({ ...ctl.options, reuse: ctl });
    const [relaunched] = await readLocalAgents(agentsDir());
    assert.equal(relaunched?.agentId, recorded.agentId);
    assert.ok(relaunched.pid !== recorded.pid && relaunched.pid !== stray, "a new process");
    assert.equal(isProcessRunning(relaunched.pid), true);
    assert.equal(isProcessRunning(stray), false, "the unrecorded process of the id still runs");
    assert.equal((await ctl.client.getSandbox({ name: "stays" })).phase, "Running");
  });
});

// A create that its agent provably did not carry out (the agent's process is gone: connection
// refused) moves once to another agent, in fast and in strong mode, instead of failing.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { anchorContainerId } from "@fast-sandbox/api";
import { ConsistencyMode } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { ContainerRuntime } from "../../packages/server/src/containerd/container-runtime.ts";
import { type AgentProcess, removeLogDir, startAgentProcess } from "../harness/agent-process.ts";
import { TEST_NAMESPACE } from "../harness/constants.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually } from "../harness/leftovers.ts";

const SLEEP = { image: "busybox", command: ["sleep", "600"] };

describe("a create whose agent died under it", () => {
  let conn: ContainerdConnection;
  let ctl: ControllerProcess;
  let scratch: string;
  let dead: AgentProcess;
  let alive: AgentProcess;

  const startAgent = (suffix: string, capacity: number) =>
    startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      // The dead agent's id sorts first: with equal load it is the scheduler's first choice.
      agentId: `retry-${suffix}-${process.pid}`,
      capacity,
      token: ctl.agentToken,
      extraArgs: ["--controller-url", ctl.url, "--controller-token-file", path.join(scratch, "token")],
    });

  before(async () => {
    conn = await testConnection();
    scratch = await mkdtemp(path.join(os.tmpdir(), "fsb-retry-"));
    // A long loss timeout: the dead agent still counts as healthy while the creates run.
    ctl = await startControllerProcess({ socketPath: conn.socketPath, localAgents: 0, lossTimeout: "60s" });
    await writeFile(path.join(scratch, "token"), ctl.token, { mode: 0o600 });
    dead = await startAgent("a", 6);
    alive = await startAgent("b", 6);
    const line = 'fsb_registry_agents{state="healthy"} 2';
    const text = await eventually(
      async () => (await fetch(`http://127.0.0.1:${ctl.ports.metrics}/metrics`)).text(),
      (m) => m.includes(line),
      20_000,
    );
    assert.ok(text.includes(line), "both agents registered and answered");
  });
  after(async () => {
    await ctl.cleanup();
    await alive.stop();
    // The killed agent never stopped, so its shim anchor is still there: ours to remove.
    await new ContainerRuntime(conn).delete(anchorContainerId(dead.agentId), { gracePeriodMs: 0 });
    for (const agent of [dead, alive]) await removeLogDir(agent.logDir);
    await rm(scratch, { recursive: true, force: true });
    conn.close();
  });

  it("moves to another agent at once when the first refuses the connection, fast and strong", async () => {
    await dead.kill9();
    // Let the controller's HTTP client notice the closed keep-alive connections, as it would in
    // any real outage: what is tested is a refused connection, not a socket torn mid-request.
    await new Promise((r) => setTimeout(r, 300));
    const created = await Promise.all([
      ...["retry-f0", "retry-f1", "retry-f2"].map((name) => ctl.client.createSandbox({ name, ...SLEEP })),
      ...["retry-s0", "retry-s1"].map((name) =>
        ctl.client.createSandbox({ name, ...SLEEP, consistencyMode: ConsistencyMode.STRONG }),
      ),
    ]);
    for (const res of created) {
      assert.equal(res.sandbox?.phase, "Running");
      assert.equal(res.sandbox?.agent, alive.agentId);
    }
    assert.match(ctl.output(), /agent create failed; trying another agent/);
    // The placement says where it went after what.
    const { sandboxes } = await ctl.client.listSandboxes({});
    assert.equal(sandboxes.length, 5);
  });
});

// Agent liveness with real processes: an agent frozen with SIGSTOP for less than the loss timeout
// loses nothing; frozen for longer, its sandboxes are Lost and come back Running when it resumes.
// Creates in another pool keep working throughout.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually } from "../harness/leftovers.ts";

const LOSS_TIMEOUT_MS = 4000;
const FROZEN_POOL = "frozen-pool";
const SLEEP = { image: "busybox", command: ["sleep", "600"] };
/** Creates made in the default pool while the other pool's agent is frozen (its agent has 4 slots). */
const WARM_CREATES = 3;

/** The PID of a local agent, from the launcher's state file in the controller's data dir. */
async function agentPid(ctl: ControllerProcess, agentId: string): Promise<number> {
  const agents = JSON.parse(
    await readFile(path.join(ctl.dataDir, "agents/local-agents.json"), "utf8"),
  ) as Array<{
    agentId: string;
    pid: number;
  }>;
  const pid = agents.find((a) => a.agentId === agentId)?.pid;
  assert.ok(pid, `agent ${agentId} is not in the state file`);
  return pid;
}

/** Phases of the frozen pool's sandboxes, by name. */
async function phases(ctl: ControllerProcess, names: string[]): Promise<string[]> {
  return Promise.all(names.map(async (name) => (await ctl.client.getSandbox({ name })).phase));
}

describe("an agent frozen with SIGSTOP", () => {
  let conn: ContainerdConnection;
  let ctl: ControllerProcess;
  let frozenAgent: string;
  const cold = ["cold-0", "cold-1"];

  before(async () => {
    conn = await testConnection();
    ctl = await startControllerProcess({
      socketPath: conn.socketPath,
      localAgents: 1,
      capacity: 4,
      lossTimeout: `${LOSS_TIMEOUT_MS}ms`,
    });
    await ctl.pools.applyPool({
      name: FROZEN_POOL,
      spec: { capacity: { poolMin: 1, poolMax: 1 }, maxSandboxesPerPod: 2 },
    });
    await eventually(
      () => ctl.pools.getPool({ name: FROZEN_POOL }),
      (p) => p.readyAgents === 1,
      30_000,
    );
    frozenAgent = `${ctl.agentPrefix}-${FROZEN_POOL}-0`;
    for (const name of cold) {
      const res = await ctl.client.createSandbox({ name, ...SLEEP, poolRef: FROZEN_POOL });
      assert.equal(res.sandbox?.agent, frozenAgent);
    }
  });
  after(async () => {
    await ctl.cleanup();
    conn.close();
  });

  it("for less than the loss timeout: nothing is Lost, and creates elsewhere keep working", async () => {
    const pid = await agentPid(ctl, frozenAgent);
    const seen = new Set<string>();
    process.kill(pid, "SIGSTOP");
    try {
      const frozenUntil = Date.now() + LOSS_TIMEOUT_MS / 2;
      let n = 0;
      while (Date.now() < frozenUntil && n < WARM_CREATES) {
        const created = await ctl.client.createSandbox({ name: `warm-${n++}`, ...SLEEP });
        assert.equal(created.sandbox?.phase, "Running");
        for (const phase of await phases(ctl, cold)) seen.add(phase);
      }
      assert.ok(n >= 2, `only ${n} creates while the agent was frozen`);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    // A little longer than the loss timeout since the freeze: no late verdict either.
    const settleUntil = Date.now() + LOSS_TIMEOUT_MS;
    while (Date.now() < settleUntil) {
      for (const phase of await phases(ctl, cold)) seen.add(phase);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual([...seen], ["Running"]);
    assert.doesNotMatch(ctl.output(), /agent lost/);
    const pool = await ctl.pools.getPool({ name: FROZEN_POOL });
    assert.ok(pool.agents.every((a) => a.healthy));
    for (let i = 0; i < WARM_CREATES; i++) {
      await ctl.client.deleteSandbox({ name: `warm-${i}`, gracePeriodSeconds: 0 }).catch(() => {});
    }
  });

  it("for longer than the loss timeout: its sandboxes are Lost, creates elsewhere still work, and all run again after SIGCONT", async () => {
    const before = await Promise.all(cold.map((name) => ctl.client.getSandbox({ name })));
    const pid = await agentPid(ctl, frozenAgent);
    const frozenAt = Date.now();
    process.kill(pid, "SIGSTOP");
    try {
      const lost = await eventually(
        () => phases(ctl, cold),
        (p) => p.every((phase) => phase === "Lost"),
        LOSS_TIMEOUT_MS * 4,
      );
      assert.deepEqual(lost, ["Lost", "Lost"]);
      // Not before the loss timeout: one silent probe is never enough.
      assert.ok(Date.now() - frozenAt >= LOSS_TIMEOUT_MS - 500, `lost after ${Date.now() - frozenAt} ms`);
      const elsewhere = await ctl.client.createSandbox({ name: "warm-during-loss", ...SLEEP });
      assert.equal(elsewhere.sandbox?.phase, "Running");
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const back = await eventually(
      () => Promise.all(cold.map((name) => ctl.client.getSandbox({ name }))),
      (all) => all.every((s) => s.phase === "Running"),
      20_000,
    );
    // The same containers, revived rather than recreated.
    assert.deepEqual(
      back.map((s) => [s.phase, s.sandboxId, s.recreations]),
      before.map((s) => ["Running", s.sandboxId, 0]),
    );
    assert.match(ctl.output(), /agent lost: its liveness probes failed/);
  });
});

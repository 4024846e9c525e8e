// Faults against real processes during a burst of creates (fast and strong): an agent killed, the
// controller killed, containerd stopped and started, an agent frozen for less than the loss timeout;
// and the store's file made read-only under a running controller.
// After each, no create that answered has lost its record, and once the janitor has been by nothing
// is left over: every container belongs to a Running record, and deleting everything leaves nothing.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, afterEach, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ConsistencyMode } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import type { PrivateContainerd } from "../../packages/server/src/standalone/private-containerd.ts";
import {
  assertDeletesLeaveNothing,
  assertHealedWithoutLoss,
  assertServesAgain,
  burst,
  type FaultSystem,
  LOSS_TIMEOUT_MS,
  startFaultContainerd,
  startFaultSystem,
  stopFaultContainerd,
} from "../harness/fault-system.ts";
import { kill9, readLocalAgents } from "../harness/local-agents.ts";

const BURST = { count: 24, concurrency: 4, faultAfter: 8 };

describe("faults during a burst of creates", () => {
  let containerd: PrivateContainerd;
  let system: FaultSystem | undefined;

  before(async () => {
    containerd = await startFaultContainerd();
  });
  afterEach(async () => {
    await system?.close();
    system = undefined;
  });
  after(async () => {
    await stopFaultContainerd(containerd);
  });

  /** A running local agent of the system, by the launcher's state file. */
  const anAgent = async (s: FaultSystem) => {
    const agents = (await readLocalAgents(path.join(s.ctl.dataDir, "agents"))).filter((a) => a.pid > 0);
    assert.ok(agents.length > 0, "the launcher runs agents");
    return agents[0]!;
  };

  it("an agent killed with SIGKILL: its sandboxes come back with it, failed creates leave nothing", async () => {
    system = await startFaultSystem(containerd);
    const s = system;
    const victim = await anAgent(s);
    const outcome = await burst(s, { prefix: "agentkill", ...BURST, fault: () => kill9(victim.pid) });
    assert.ok(outcome.created.size >= BURST.faultAfter, `creates answered: ${outcome.created.size}`);
    await assertHealedWithoutLoss(s, outcome);
    await assertServesAgain(s);
    await assertDeletesLeaveNothing(s);
  });

  it("the controller killed with SIGKILL and restarted: every answered create keeps its record", async () => {
    system = await startFaultSystem(containerd);
    const s = system;
    const outcome = await burst(s, {
      prefix: "ctlkill",
      ...BURST,
      fault: async () => {
        await s.ctl.kill9();
        await s.restartController();
      },
    });
    assert.ok(outcome.created.size >= BURST.faultAfter, `creates answered: ${outcome.created.size}`);
    await assertHealedWithoutLoss(s, outcome);
    await assertServesAgain(s);
    await assertDeletesLeaveNothing(s);
  });

  it("containerd stopped and started again: running sandboxes live on, failed creates leave nothing", async () => {
    system = await startFaultSystem(containerd);
    const s = system;
    const outcome = await burst(s, {
      prefix: "ctrdstop",
      ...BURST,
      fault: async () => {
        await containerd.stop();
        await new Promise((r) => setTimeout(r, 1000));
        await containerd.start();
      },
    });
    assert.ok(outcome.created.size >= BURST.faultAfter, `creates answered: ${outcome.created.size}`);
    await assertHealedWithoutLoss(s, outcome);
    await assertServesAgain(s);
    await assertDeletesLeaveNothing(s);
  });

  it("an agent frozen with SIGSTOP for less than the loss timeout: nothing is lost, every create succeeds", async () => {
    system = await startFaultSystem(containerd);
    const s = system;
    const victim = await anAgent(s);
    let frozen = false;
    try {
      const outcome = await burst(s, {
        prefix: "agentstop",
        ...BURST,
        fault: async () => {
          process.kill(victim.pid, "SIGSTOP");
          frozen = true;
          await new Promise((r) => setTimeout(r, LOSS_TIMEOUT_MS / 2));
          process.kill(victim.pid, "SIGCONT");
          frozen = false;
        },
      });
      assert.deepEqual([...outcome.failed], [], "a frozen agent only delays its creates");
      await assertHealedWithoutLoss(s, outcome);
      await assertServesAgain(s);
      assert.doesNotMatch(s.ctl.output(), /agent lost|sandbox lost/);
      await assertDeletesLeaveNothing(s);
    } finally {
      if (frozen) process.kill(victim.pid, "SIGCONT");
    }
  });

  it("the store file made read-only: clear UNAVAILABLE errors naming it, reads go on, nothing corrupt, writes resume", async () => {
    system = await startFaultSystem(containerd);
    const s = system;
    const { client } = s.ctl;
    const before = await burst(s, {
      prefix: "ro",
      count: 2,
      concurrency: 1,
      faultAfter: 0,
      fault: async () => {},
    });
    assert.deepEqual([...before.failed], []);
    const storeFiles = ["store.db", "store.db-wal"]
      .map((f) => path.join(s.ctl.dataDir, "store", f))
      .filter((f) => existsSync(f));
    const locked: string[] = [];
    try {
      // Root writes through chmod; an immutable file is refused to root too, as a read-only disk would.
      for (const file of storeFiles) {
        execFileSync("chattr", ["+i", file]);
        locked.push(file);
      }
      const refused = (err: unknown) =>
        err instanceof ConnectError &&
        err.code === Code.Unavailable &&
        /store\.db cannot be used/.test(err.rawMessage);
      await assert.rejects(
        client.createSandbox({ name: "ro-fast", image: "busybox", command: ["sleep", "600"] }),
        refused,
      );
      await assert.rejects(
        client.createSandbox({
          name: "ro-strong",
          image: "busybox",
          command: ["sleep", "600"],
          consistencyMode: ConsistencyMode.STRONG,
        }),
        refused,
      );
      await assert.rejects(client.updateSandbox({ name: "ro-0", labels: { a: "b" } }), refused);
      const { sandboxes } = await client.listSandboxes({});
      assert.deepEqual(sandboxes.map((x) => `${x.name} ${x.phase}`).sort(), ["ro-0 Running", "ro-1 Running"]);
    } finally {
      for (const file of locked) execFileSync("chattr", ["-i", file]);
    }
    const db = new DatabaseSync(path.join(s.ctl.dataDir, "store", "store.db"), { readOnly: true });
    try {
      assert.deepEqual(
        { ...(db.prepare("PRAGMA integrity_check").get() as object) },
        { integrity_check: "ok" },
      );
    } finally {
      db.close();
    }
    await assertHealedWithoutLoss(s, before);
    await assertServesAgain(s);
    await assertDeletesLeaveNothing(s);
  });
});

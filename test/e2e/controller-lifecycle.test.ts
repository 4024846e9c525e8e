// Sandbox lifecycle end to end: container exit (Manual), outside kill (AutoRecreate), reset, expiry and updates.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
  FailurePolicy,
  type SandboxInfo,
  WatchEvent_Type,
} from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import type { AgentStatusView } from "../../packages/server/src/controller/agent-api.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually, leftoversOf, nothingLeft, processRuns } from "../harness/leftovers.ts";
import { rejectsWith } from "../harness/rpc-assert.ts";

/**
 * Stops at once on SIGTERM: a plain `sleep` as PID 1 ignores it, and reset and expiry stop the
 * container gracefully (10 s by default) before SIGKILL.
 */
const SERVE = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"];

function condition(info: SandboxInfo, type: string) {
  const c = info.conditions.find((x) => x.type === type);
  return c && { status: c.status, reason: c.reason, message: c.message };
}

/** Polls GetSandbox until `done` holds, and fails with the last state if it never does. */
async function waitFor(
  ctl: ControllerProcess,
  name: string,
  done: (s: SandboxInfo) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<SandboxInfo> {
  const info = await eventually(() => ctl.client.getSandbox({ name }), done, timeoutMs);
  assert.ok(
    done(info),
    `${name} never became ${what}: phase ${info.phase}, sandboxId ${info.sandboxId}, ` +
      `conditions ${JSON.stringify(info.conditions.map((c) => [c.type, c.status, c.reason, c.message]))}`,
  );
  return info;
}

async function deleteAndWait(ctl: ControllerProcess, name: string): Promise<void> {
  await ctl.client.deleteSandbox({ name, gracePeriodSeconds: 0 });
  const state = await eventually(
    () =>
      ctl.client.getSandbox({ name }).then(
        () => "present",
        () => "gone",
      ),
    (v) => v === "gone",
  );
  assert.equal(state, "gone", `sandbox ${name} is still there`);
}

/** The host PID of a sandbox's process, from its local agent's status. */
async function containerPid(ctl: ControllerProcess, agentId: string, sandboxId: string): Promise<number> {
  const agents = JSON.parse(
    await readFile(path.join(ctl.dataDir, "agents/local-agents.json"), "utf8"),
  ) as Array<{
    agentId: string;
    port: number;
  }>;
  const agent = agents.find((a) => a.agentId === agentId);
  assert.ok(agent, `no local agent ${agentId}`);
  const res = await fetch(`http://127.0.0.1:${agent.port}/api/v1/agent/status`, {
    headers: { authorization: `Bearer ${ctl.agentToken}` },
  });
  const status = (await res.json()) as AgentStatusView;
  const sandbox = status.sandboxes.find((s) => s.sandboxId === sandboxId);
  assert.ok(sandbox && sandbox.pid > 0, `agent ${agentId} does not run ${sandboxId}`);
  return sandbox.pid;
}

/** Records every state a sandbox passes through, as `phase:exitCode:readyReason`, until stopped. */
async function recordStates(
  ctl: ControllerProcess,
  name: string,
): Promise<{ seen: string[]; stop(): Promise<void> }> {
  const abort = new AbortController();
  const seen: string[] = [];
  let synced = () => {};
  const isSynced = new Promise<void>((resolve) => (synced = resolve));
  const watching = (async () => {
    try {
      for await (const event of ctl.client.watchSandboxes({}, { signal: abort.signal })) {
        if (event.type === WatchEvent_Type.SYNCED) synced();
        const s = event.sandbox;
        if (s?.name !== name) continue;
        seen.push(`${s.phase}:${s.exitCode ?? ""}:${condition(s, "Ready")?.reason ?? ""}`);
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    } finally {
      synced();
    }
  })();
  // Only once the initial list is through is every later change certain to be seen.
  await isSynced;
  return {
    seen,
    async stop() {
      abort.abort();
      await watching;
    },
  };
}

async function readLogs(ctl: ControllerProcess, name: string): Promise<string> {
  let text = "";
  for await (const chunk of ctl.client.getSandboxLogs({ name })) text += Buffer.from(chunk.data).toString();
  return text;
}

describe("a pool of one slot", () => {
  let ctl: ControllerProcess;
  const conn = testConnection();

  before(async () => {
    ctl = await startControllerProcess({ socketPath: (await conn).socketPath, localAgents: 1, capacity: 1 });
  });
  after(async () => {
    await ctl.cleanup();
    (await conn).close();
  });

  it("Manual: an exit is Failed with its code; the slot frees and the logs stay readable", async () => {
    const created = (
      await ctl.client.createSandbox({
        name: "exits",
        image: "busybox",
        command: ["sh", "-c", "echo going; sleep 0.2; echo gone; exit 3"],
      })
    ).sandbox!;
    assert.equal(created.failurePolicy, FailurePolicy.MANUAL);

    const failed = await waitFor(ctl, "exits", (s) => s.phase === "Failed", "Failed");
    assert.equal(failed.exitCode, 3);
    assert.equal(failed.sandboxId, created.sandboxId);
    assert.equal(failed.recreations, 0);
    assert.deepEqual(failed.endpoints, []);
    assert.deepEqual(condition(failed, "Ready"), {
      status: "False",
      reason: "ContainerExited",
      message: "the container exited with code 3",
    });
    assert.deepEqual(await leftoversOf(await conn, created.sandboxId), nothingLeft);

    // The only slot is free again.
    const next = (await ctl.client.createSandbox({ name: "after-exit", image: "busybox", command: SERVE }))
      .sandbox!;
    assert.equal(next.phase, "Running");
    assert.equal(next.agent, created.agent);

    assert.equal(await readLogs(ctl, "exits"), "going\ngone\n");
    // Manual means it stays as it is.
    const still = await ctl.client.getSandbox({ name: "exits" });
    assert.equal(still.phase, "Failed");
    assert.equal(still.sandboxId, created.sandboxId);

    await deleteAndWait(ctl, "exits");
    await deleteAndWait(ctl, "after-exit");
  });

  it("expires at expireTime: the container goes, the slot frees, the object stays Expired", async () => {
    const expireAt = new Date(Date.now() + 2000);
    const created = (
      await ctl.client.createSandbox({
        name: "expiring",
        image: "busybox",
        command: SERVE,
        expireTime: timestampFromDate(expireAt),
      })
    ).sandbox!;
    assert.equal(created.phase, "Running");
    assert.equal(timestampDate(created.expireTime!).getTime(), expireAt.getTime());
    // The slot is taken until then.
    await rejectsWith(
      ctl.client.createSandbox({ name: "reprieved", image: "busybox", command: SERVE }),
      Code.ResourceExhausted,
    );

    const containerd = await conn;
    const expired = await waitFor(ctl, "expiring", (s) => s.phase === "Expired", "Expired");
    assert.ok(Date.now() >= expireAt.getTime(), "expired early");
    assert.deepEqual(condition(expired, "Ready"), {
      status: "False",
      reason: "Expired",
      message: "expireTime passed",
    });
    assert.deepEqual(expired.endpoints, []);
    // Expired is written first; the container then gets its grace period (this one stops on SIGTERM).
    assert.deepEqual(
      await eventually(
        () => leftoversOf(containerd, created.sandboxId),
        (l) => !l.container && !l.task && !l.snapshot && !l.bundle,
      ),
      nothingLeft,
    );

    // The slot is free: another sandbox, itself due to expire, takes it; clearing its expiry keeps it.
    const oldExpiry = new Date(Date.now() + 3000);
    const other = (
      await eventually(
        () =>
          ctl.client
            .createSandbox({
              name: "reprieved",
              image: "busybox",
              command: SERVE,
              expireTime: timestampFromDate(oldExpiry),
            })
            .catch(() => undefined),
        (r) => r !== undefined,
        2000,
      )
    )?.sandbox;
    assert.ok(other, "the expired sandbox's slot was not freed");
    assert.equal(other.phase, "Running");
    const updated = (
      await ctl.client.updateSandbox({ name: "reprieved", expiry: { case: "clearExpireTime", value: true } })
    ).sandbox!;
    assert.equal(updated.expireTime, undefined);
    await new Promise((r) => setTimeout(r, oldExpiry.getTime() + 1500 - Date.now()));
    const kept = await ctl.client.getSandbox({ name: "reprieved" });
    assert.equal(kept.phase, "Running");
    assert.equal(kept.sandboxId, other.sandboxId);
    assert.equal(kept.expireTime, undefined);
    assert.equal((await leftoversOf(await conn, other.sandboxId)).task, true);

    // The expired object is still there, still Expired.
    const after = await ctl.client.getSandbox({ name: "expiring" });
    assert.equal(after.phase, "Expired");
    assert.equal(after.sandboxId, created.sandboxId);

    await deleteAndWait(ctl, "expiring");
    await deleteAndWait(ctl, "reprieved");
  });
});

describe("recreation, reset and updates", () => {
  let ctl: ControllerProcess;
  const conn = testConnection();

  before(async () => {
    ctl = await startControllerProcess({ socketPath: (await conn).socketPath, localAgents: 1, capacity: 3 });
  });
  after(async () => {
    await ctl.cleanup();
    (await conn).close();
  });

  it("AutoRecreate: a container killed from outside comes back Running with a new sandboxId", async () => {
    const created = (
      await ctl.client.createSandbox({
        name: "phoenix",
        image: "busybox",
        command: SERVE,
        failurePolicy: FailurePolicy.AUTO_RECREATE,
      })
    ).sandbox!;
    assert.equal(created.failurePolicy, FailurePolicy.AUTO_RECREATE);
    const recorded = await waitFor(ctl, "phoenix", (s) => s.uid !== "", "recorded");

    const states = await recordStates(ctl, "phoenix");
    const pid = await containerPid(ctl, created.agent, created.sandboxId);
    process.kill(pid, "SIGKILL");

    const back = await waitFor(
      ctl,
      "phoenix",
      (s) => s.phase === "Running" && s.sandboxId !== created.sandboxId,
      "Running again",
    );
    assert.match(back.sandboxId, /^phoenix-[0-9a-f]{8}$/);
    assert.equal(back.recreations, 1);
    // The same object: only its container is new.
    assert.equal(back.uid, recorded.uid);
    assert.equal(back.exitCode, undefined);
    assert.deepEqual(condition(back, "Ready"), { status: "True", reason: "Started", message: "" });
    assert.deepEqual(await leftoversOf(await conn, created.sandboxId), nothingLeft);
    assert.ok(processRuns(await containerPid(ctl, back.agent, back.sandboxId)));
    await states.stop();
    // Seen as an exit by SIGKILL (128 + 9), then rescheduled.
    const failedAt = states.seen.indexOf("Failed:137:ContainerExited");
    assert.ok(failedAt >= 0, states.seen.join(" "));
    assert.ok(states.seen.indexOf("Pending::ContainerExited", failedAt) > failedAt, states.seen.join(" "));

    await deleteAndWait(ctl, "phoenix");
  });

  it("reset recreates the container: a new sandboxId, Running, the reset accepted, the old container gone", async () => {
    const created = (await ctl.client.createSandbox({ name: "resettable", image: "busybox", command: SERVE }))
      .sandbox!;
    const recorded = await waitFor(ctl, "resettable", (s) => s.uid !== "", "recorded");

    const requested = (await ctl.client.updateSandbox({ name: "resettable", reset: true })).sandbox!;
    assert.ok(requested.resetRevision, "the update did not set resetRevision");
    const revision = timestampDate(requested.resetRevision).getTime();

    const reset = await waitFor(
      ctl,
      "resettable",
      (s) => s.phase === "Running" && s.sandboxId !== created.sandboxId,
      "Running again",
    );
    assert.match(reset.sandboxId, /^resettable-[0-9a-f]{8}$/);
    assert.ok(reset.acceptedResetRevision, "acceptedResetRevision is not set");
    assert.equal(timestampDate(reset.acceptedResetRevision).getTime(), revision);
    assert.equal(reset.uid, recorded.uid);
    assert.deepEqual(await leftoversOf(await conn, created.sandboxId), nothingLeft);
    assert.equal((await leftoversOf(await conn, reset.sandboxId)).task, true);

    // Accepted once: nothing more happens until the next reset.
    await new Promise((r) => setTimeout(r, 700));
    assert.equal((await ctl.client.getSandbox({ name: "resettable" })).sandboxId, reset.sandboxId);

    await deleteAndWait(ctl, "resettable");
  });

  it("updates labels (merge, and removal by an empty value) and the failure policy, visible in GetSandbox", async () => {
    const created = (
      await ctl.client.createSandbox({
        name: "labelled",
        image: "busybox",
        command: SERVE,
        labels: { team: "a", tier: "web", keep: "yes" },
      })
    ).sandbox!;
    assert.equal(created.failurePolicy, FailurePolicy.MANUAL);

    const updated = (
      await ctl.client.updateSandbox({
        name: "labelled",
        labels: { team: "b", tier: "", extra: "1" },
        failurePolicy: FailurePolicy.AUTO_RECREATE,
        recoveryTimeoutSeconds: 30,
      })
    ).sandbox!;
    const expected = { team: "b", keep: "yes", extra: "1" };
    assert.deepEqual({ ...updated.labels }, expected);
    assert.equal(updated.failurePolicy, FailurePolicy.AUTO_RECREATE);

    const got = await ctl.client.getSandbox({ name: "labelled" });
    assert.deepEqual({ ...got.labels }, expected);
    assert.equal(got.failurePolicy, FailurePolicy.AUTO_RECREATE);
    assert.equal(got.recoveryTimeoutSeconds, 30);
    // An update changes no container.
    assert.equal(got.phase, "Running");
    assert.equal(got.sandboxId, created.sandboxId);
    assert.deepEqual(
      (await ctl.client.listSandboxes({ labelSelector: "team=b,extra=1" })).sandboxes.map((s) => s.name),
      ["labelled"],
    );
    assert.equal((await ctl.client.listSandboxes({ labelSelector: "tier" })).sandboxes.length, 0);

    // UNSPECIFIED leaves the policy as it is; MANUAL sets it back.
    const unchanged = (await ctl.client.updateSandbox({ name: "labelled", labels: { extra: "2" } })).sandbox!;
    assert.equal(unchanged.failurePolicy, FailurePolicy.AUTO_RECREATE);
    assert.deepEqual({ ...unchanged.labels }, { team: "b", keep: "yes", extra: "2" });
    await ctl.client.updateSandbox({ name: "labelled", failurePolicy: FailurePolicy.MANUAL });
    assert.equal((await ctl.client.getSandbox({ name: "labelled" })).failurePolicy, FailurePolicy.MANUAL);

    await rejectsWith(
      ctl.client.updateSandbox({ name: "labelled", labels: { "sandbox.fast.io/owner": "x" } }),
      Code.InvalidArgument,
      /^labels\[/,
    );
    await rejectsWith(ctl.client.updateSandbox({ name: "nobody", reset: true }), Code.NotFound);

    await deleteAndWait(ctl, "labelled");
  });
});

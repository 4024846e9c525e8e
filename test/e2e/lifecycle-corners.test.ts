// Lifecycle corners end to end (issue 12): expiry on time, a clean exit Succeeded, refused updates of
// an expired sandbox, createdAt before startedAt, and a followed log that ends with the last line.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  ConsistencyMode,
  FailurePolicy,
  type SandboxInfo,
} from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { buildCli, type CliResult, type CliWorkspace, cliWorkspace } from "../harness/cli.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually, leftoversOf, nothingLeft } from "../harness/leftovers.ts";

/** The phase is due within this long after expireTime (the bound). */
const EXPIRY_LATENESS_MS = 1000;
/** Stops at once on SIGTERM (a shell as PID 1 ignores it otherwise). */
const SERVE = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"];

/** Polls GetSandbox until `done` holds, and fails with the last state if it never does. */
async function waitFor(
  ctl: ControllerProcess,
  name: string,
  done: (s: SandboxInfo) => boolean,
  timeoutMs = 10_000,
): Promise<SandboxInfo> {
  const info = await eventually(() => ctl.client.getSandbox({ name }), done, timeoutMs);
  assert.ok(done(info), `${name} never got there: phase ${info.phase}, exitCode ${info.exitCode}`);
  return info;
}

function readyOf(info: SandboxInfo) {
  const c = info.conditions.find((x) => x.type === "Ready");
  return c && { status: c.status, reason: c.reason, message: c.message };
}

/** When the watch first shows `name` in `phase` (epoch ms), or undefined if it did not before `signal`. */
async function seenIn(
  ctl: ControllerProcess,
  name: string,
  phase: string,
  signal: AbortSignal,
): Promise<number | undefined> {
  try {
    for await (const event of ctl.client.watchSandboxes({}, { signal })) {
      if (event.sandbox?.name === name && event.sandbox.phase === phase) return Date.now();
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
  return undefined;
}

describe("lifecycle corners", () => {
  let ctl: ControllerProcess;
  let ws: CliWorkspace;
  const conn = testConnection();
  /** Runs fsb-ctl against the test controller; resolves with how it ended and how long it took. */
  const cli = async (...args: string[]): Promise<CliResult & { ms: number }> => {
    const started = Date.now();
    const result = await ws.run(args, { env: { FSB_ENDPOINT: ctl.url, FSB_TOKEN: ctl.token } });
    return { ...result, ms: Date.now() - started };
  };

  before(async () => {
    await buildCli();
    [ctl, ws] = await Promise.all([
      conn.then((c) => startControllerProcess({ socketPath: c.socketPath, localAgents: 1, capacity: 4 })),
      cliWorkspace(),
    ]);
  });
  after(async () => {
    await ctl?.cleanup();
    await ws?.cleanup();
    (await conn).close();
  });

  for (const [label, mode] of [
    ["fast", ConsistencyMode.FAST],
    ["strong", ConsistencyMode.STRONG],
  ] as const) {
    const name = `expiring-${label}`;
    it(`${label} mode: Expired within ${EXPIRY_LATENESS_MS} ms of expireTime, though the process ignores SIGTERM`, async () => {
      const expireAt = Date.now() + 2000;
      const watching = new AbortController();
      const seen = seenIn(ctl, name, "Expired", watching.signal);
      // A plain `sleep` as PID 1 ignores SIGTERM: it is killed only after its 10 s grace period.
      const created = (
        await ctl.client.createSandbox({
          name,
          image: "busybox",
          command: ["sleep", "600"],
          consistencyMode: mode,
          expireTime: timestampFromDate(new Date(expireAt)),
        })
      ).sandbox!;
      assert.equal(created.phase, "Running");
      const timer = setTimeout(() => watching.abort(), expireAt - Date.now() + 5000);
      const at = await seen;
      clearTimeout(timer);
      watching.abort();
      assert.ok(at !== undefined, `${name} was not Expired 5 s after its expireTime`);
      const lateMs = at - expireAt;
      console.log(`[lifecycle] ${name}: Expired ${lateMs} ms after expireTime`);
      assert.ok(lateMs >= 0, `expired ${-lateMs} ms early`);
      assert.ok(lateMs < EXPIRY_LATENESS_MS, `expired ${lateMs} ms after expireTime`);
      const expired = await ctl.client.getSandbox({ name });
      assert.deepEqual(readyOf(expired), {
        status: "False",
        reason: "Expired",
        message: "expireTime passed",
      });
      assert.deepEqual(expired.endpoints, []);
      // The container then waits out its grace period and goes.
      const left = await eventually(
        async () => leftoversOf(await conn, created.sandboxId),
        (l) => !l.container && !l.task && !l.snapshot && !l.bundle,
        20_000,
      );
      assert.deepEqual(left, nothingLeft);
    });
  }

  it("a process that exits 0 is Succeeded (Completed, exit code 0), never recreated; its log stays", async () => {
    await ctl.client.createSandbox({
      name: "job",
      image: "busybox",
      command: ["sh", "-c", "echo done"],
      failurePolicy: FailurePolicy.AUTO_RECREATE,
    });
    const done = await waitFor(ctl, "job", (s) => s.phase === "Succeeded");
    assert.equal(done.exitCode, 0);
    assert.deepEqual(readyOf(done), {
      status: "False",
      reason: "Completed",
      message: "the container exited with code 0",
    });
    let log = "";
    for await (const chunk of ctl.client.getSandboxLogs({ name: "job" }))
      log += Buffer.from(chunk.data).toString();
    assert.equal(log, "done\n");
    await new Promise((r) => setTimeout(r, 1500));
    const later = await ctl.client.getSandbox({ name: "job" });
    assert.equal(later.phase, "Succeeded");
    assert.equal(later.recreations, 0);
    assert.equal(later.sandboxId, done.sandboxId);
    const get = await cli("get", "job");
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /^phase: Succeeded$/m);
    const list = await cli("list");
    assert.match(list.stdout, /^job +Succeeded\b/m);

    // A non-zero exit stays Failed.
    await ctl.client.createSandbox({ name: "bad-job", image: "busybox", command: ["sh", "-c", "exit 7"] });
    const failed = await waitFor(ctl, "bad-job", (s) => s.phase === "Failed");
    assert.equal(failed.exitCode, 7);
    assert.equal(readyOf(failed)?.reason, "ContainerExited");
    assert.ok(timestampDate(failed.startedAt!).getTime() > 0);
  });

  it("an Expired sandbox refuses a reset and a new expiry at once, naming the phase; labels still change", async () => {
    const expireTime = new Date(Date.now() + 1000);
    await ctl.client.createSandbox({
      name: "gone",
      image: "busybox",
      command: SERVE,
      expireTime: timestampFromDate(expireTime),
    });
    await waitFor(ctl, "gone", (s) => s.phase === "Expired");

    const reset = await cli("reset", "gone");
    assert.notEqual(reset.code, 0, reset.stdout);
    assert.ok(reset.ms < 10_000, `fsb-ctl reset took ${reset.ms} ms`);
    assert.match(
      reset.stderr,
      /^Error: reset: the sandbox is Expired: its container is gone; create a new sandbox$/m,
    );

    const update = await cli("update", "gone", "--expire-in", "1h");
    assert.notEqual(update.code, 0, update.stdout);
    assert.match(update.stderr, /^Error: expireTime: the sandbox is Expired/m);
    assert.doesNotMatch(update.stdout, /expires in/);

    const labelled = await cli("update", "gone", "--label", "team=a");
    assert.equal(labelled.code, 0, labelled.stderr);
    const after = await ctl.client.getSandbox({ name: "gone" });
    assert.equal(after.phase, "Expired");
    assert.equal(timestampDate(after.expireTime!).getTime(), expireTime.getTime());
    assert.equal(after.resetRevision, undefined);
    assert.deepEqual(after.labels, { team: "a" });
  });

  it("createdAt is never later than startedAt, in fast and strong mode, and stays put once recorded", async () => {
    const ms = (t: SandboxInfo["createdAt"]) => (t ? timestampDate(t).getTime() : Number.NaN);
    for (const [label, mode] of [
      ["fast", ConsistencyMode.FAST],
      ["strong", ConsistencyMode.STRONG],
    ] as const) {
      for (let i = 0; i < 3; i++) {
        const name = `clock-${label}-${i}`;
        const before = Date.now();
        const created = (
          await ctl.client.createSandbox({ name, image: "busybox", command: SERVE, consistencyMode: mode })
        ).sandbox!;
        const recorded = await waitFor(ctl, name, (s) => s.uid !== "");
        for (const info of [created, recorded]) {
          const [createdAt, startedAt] = [ms(info.createdAt), ms(info.startedAt)];
          assert.ok(
            createdAt <= startedAt,
            `${name}: createdAt ${createdAt} is after startedAt ${startedAt}`,
          );
          assert.ok(
            createdAt >= before - 1000 && startedAt <= Date.now(),
            `${name}: ${createdAt}, ${startedAt}`,
          );
        }
        assert.equal(ms(recorded.createdAt), ms(created.createdAt), `${name}: createdAt moved when recorded`);
        assert.equal(ms(recorded.startedAt), ms(created.startedAt));
        await ctl.client.deleteSandbox({ name, gracePeriodSeconds: 0 });
      }
    }
  });

  for (const [what, end] of [
    ["a delete", (name: string) => ctl.client.deleteSandbox({ name, gracePeriodSeconds: 5 })],
    ["a reset", (name: string) => ctl.client.updateSandbox({ name, reset: true })],
  ] as const) {
    it(`a followed log ends, after ${what}, with the last line the workload wrote on SIGTERM`, async () => {
      const name = `last-words-${what.split(" ")[1]}`;
      await ctl.client.createSandbox({
        name,
        image: "busybox",
        // Its last words come a moment after SIGTERM, as a real shutdown's do.
        command: ["sh", "-c", "trap 'sleep 0.5; echo got-term; exit 0' TERM; echo ready; sleep 600 & wait"],
      });
      let text = "";
      let ready = () => {};
      const isReady = new Promise<void>((resolve) => (ready = resolve));
      const following = (async () => {
        for await (const chunk of ctl.client.getSandboxLogs({ name, follow: true })) {
          text += Buffer.from(chunk.data).toString();
          if (text.includes("ready\n")) ready();
        }
      })();
      await isReady;
      await end(name);
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the followed log of ${name} never ended: ${text}`)),
          15_000,
        );
      });
      await Promise.race([following, stuck]).finally(() => clearTimeout(timer));
      assert.equal(text, "ready\ngot-term\n");
    });
  }
});

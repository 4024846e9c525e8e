// The leader elector's runner against an in-memory Lease (fake-lease.ts: fine here, this tests the
// runner's logic, not the API) on a manual clock.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../core/manual-clock.ts";
import { FakeLease } from "./fake-lease.ts";
import { LeaderElector, type LeaderElectorOptions, type LeaseClient } from "./leader-elector.ts";

type Timings = Pick<LeaderElectorOptions, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">;
/** The runner's behaviour is shown on client-go's timings; the defaults have their own test. */
const CLIENT_GO_TIMINGS: Timings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const DEFAULT_TIMINGS: Timings = {};

/** An elector that logs `<id> started|stopped @<ms since start>` into `log`. */
function candidate(
  id: string,
  client: LeaseClient,
  clock: ManualClock,
  log: string[],
  onStopped?: () => Promise<void>,
  timings: Timings = CLIENT_GO_TIMINGS,
): { elector: LeaderElector; abort: AbortController; done: Promise<void>; signals: AbortSignal[] } {
  const start = 1_700_000_000_000;
  const signals: AbortSignal[] = [];
  const elector = new LeaderElector({
    client,
    identity: id,
    clock,
    ...timings,
    onStartedLeading: (signal) => {
      signals.push(signal);
      log.push(`${id} started @${clock.now() - start}`);
    },
    onStoppedLeading: async () => {
      log.push(`${id} stopped @${clock.now() - start}`);
      await onStopped?.();
    },
  });
  const abort = new AbortController();
  return { elector, abort, done: elector.run(abort.signal), signals };
}

describe("LeaderElector", () => {
  it("acquires a missing lease at once, renews it every retry period and releases it on stop", async () => {
    const clock = new ManualClock();
    const lease = new FakeLease();
    const log: string[] = [];
    const a = candidate("a", lease.client(), clock, log);
    await clock.advance(0);
    assert.equal(a.elector.isLeader, true);
    assert.deepEqual(lease.snapshot?.record, {
      holderIdentity: "a",
      leaseDurationSeconds: 15,
      acquireTime: clock.now(),
      renewTime: clock.now(),
      leaseTransitions: 0,
    });
    const acquiredAt = clock.now();
    await clock.advance(2000);
    assert.equal(lease.snapshot?.record.renewTime, acquiredAt + 2000);
    assert.equal(lease.snapshot?.record.acquireTime, acquiredAt);
    a.abort.abort();
    await a.done;
    assert.equal(a.elector.isLeader, false);
    assert.equal(a.signals[0]?.aborted, true);
    assert.deepEqual(log, ["a started @0", "a stopped @2000"]);
    assert.equal(lease.holder, "", "released");
    assert.equal(lease.snapshot?.record.leaseDurationSeconds, 1);
  });

  it("hands over at the next retry after a graceful stop, releasing only after the leader's work stopped", async () => {
    const clock = new ManualClock();
    const lease = new FakeLease();
    const log: string[] = [];
    const a = candidate("a", lease.client(), clock, log, async () => {
      log.push(`lease held by ${lease.holder} while a stops`);
    });
    await clock.advance(0);
    const b = candidate("b", lease.client(), clock, log);
    await clock.advance(10_000);
    assert.equal(b.elector.isLeader, false, "b stands by while a renews");
    a.abort.abort();
    await a.done;
    await clock.advance(2000);
    assert.equal(b.elector.isLeader, true);
    assert.deepEqual(log, [
      "a started @0",
      "a stopped @10000",
      "lease held by a while a stops",
      "b started @12000",
    ]);
    assert.equal(lease.snapshot?.record.leaseTransitions, 1);
    b.abort.abort();
    await b.done;
  });

  it("steps down at the renew deadline even while a request hangs; the standby takes over after the lease duration", async () => {
    const clock = new ManualClock();
    const lease = new FakeLease();
    const log: string[] = [];
    const aClient = lease.client();
    const a = candidate("a", aClient, clock, log);
    await clock.advance(2000); // a acquired at 0 and renewed at 2000
    const b = candidate("b", lease.client(), clock, log);
    await clock.advance(1000);
    aClient.mode = "hanging";
    await clock.advance(15_000); // to 18000
    // b last saw the lease change at 2000 and looks again exactly when it expires.
    assert.deepEqual(log, ["a started @0", "a stopped @12000", "b started @17000"]);
    assert.equal(a.elector.isLeader, false);
    assert.equal(a.signals[0]?.aborted, true);
    assert.equal(lease.holder, "b");
    assert.equal(lease.snapshot?.record.leaseTransitions, 1);
    a.abort.abort();
    aClient.unhang();
    await a.done;
    assert.equal(lease.holder, "b", "a no longer leads, so it releases nothing");
    b.abort.abort();
    await b.done;
  });

  it("loses leadership when renewals fail past the deadline, and leads again once a renewal works", async () => {
    const clock = new ManualClock();
    const lease = new FakeLease();
    const log: string[] = [];
    const client = lease.client();
    const a = candidate("a", client, clock, log);
    await clock.advance(1000);
    client.mode = "failing";
    await clock.advance(9000); // the deadline: 10 s after the renewal that started at 0
    assert.equal(a.elector.isLeader, false);
    assert.deepEqual(log, ["a started @0", "a stopped @10000"]);
    client.mode = "ok";
    await clock.advance(2000);
    // Nobody else took the lease, which still names a: it renews and leads again.
    assert.deepEqual(log, ["a started @0", "a stopped @10000", "a started @12000"]);
    assert.equal(a.signals.length, 2);
    assert.equal(a.signals[1]?.aborted, false);
    a.abort.abort();
    await a.done;
  });

  it("stops leading when another holder takes the lease, and leaves that holder's lease alone on stop", async () => {
    const clock = new ManualClock();
    const lease = new FakeLease();
    const log: string[] = [];
    const a = candidate("a", lease.client(), clock, log);
    await clock.advance(1000);
    lease.overwrite({
      holderIdentity: "thief",
      leaseDurationSeconds: 15,
      acquireTime: clock.now(),
      renewTime: clock.now(),
      leaseTransitions: 1,
    });
    await clock.advance(1000);
    assert.deepEqual(log, ["a started @0", "a stopped @2000"]);
    a.abort.abort();
    await a.done;
    assert.equal(lease.holder, "thief");
  });

  it("with the default timings, a leader killed without releasing is replaced within 9 s of its last renewal", async () => {
    // Every phase of the follower's polling against the leader's renewals: the worst case is the
    // follower reading just before a renewal lands (it sees that renewal a retry period late).
    for (const offset of [0, 1, 250, 500, 999]) {
      const clock = new ManualClock();
      const lease = new FakeLease();
      const log: string[] = [];
      const aClient = lease.client();
      const a = candidate("a", aClient, clock, log, undefined, DEFAULT_TIMINGS);
      await clock.advance(offset);
      const b = candidate("b", lease.client(), clock, log, undefined, DEFAULT_TIMINGS);
      await clock.advance(5000 - offset);
      assert.equal(b.elector.holder, "a", "the follower knows who leads");
      // kill -9: a's renewals stop reaching the API server, and nothing is released.
      const lastRenewal = lease.snapshot!.record.renewTime!;
      aClient.mode = "hanging";
      while (!b.elector.isLeader) await clock.advance(10);
      const takeover = clock.now() - lastRenewal;
      assert.ok(
        takeover >= 8000 && takeover <= 9000,
        `offset ${offset}: taken over ${takeover} ms after the last renewal`,
      );
      assert.equal(b.elector.holder, "b");
      b.abort.abort();
      await b.done;
      a.abort.abort();
      aClient.unhang();
      await a.done;
    }
  });

  it("refuses timings that cannot work", () => {
    assert.throws(
      () =>
        new LeaderElector({
          client: new FakeLease().client(),
          identity: "a",
          renewDeadlineMs: 20_000,
          onStartedLeading: () => {},
          onStoppedLeading: () => {},
        }),
      RangeError,
    );
  });
});

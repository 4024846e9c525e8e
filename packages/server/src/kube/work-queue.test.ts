// The work queue: de-duplication, per-key serial handling, backoff, delayed adds and draining shutdown.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../core/manual-clock.ts";
import { ExponentialBackoff, RateLimiter, TokenBucket } from "./rate-limiter.ts";
import { WorkQueue } from "./work-queue.ts";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets pending callbacks run until `check` holds (bounded, no timers involved). */
async function until(check: () => boolean, what = "condition"): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(check(), `gave up waiting for ${what}`);
}

describe("WorkQueue", () => {
  it("collapses duplicates while queued, in FIFO order", async () => {
    const queue = new WorkQueue({ clock: new ManualClock() });
    for (const key of ["a", "a", "b", "a", "c", "b"]) queue.add(key);
    assert.equal(queue.length, 3);
    const seen: string[] = [];
    queue.shutDown();
    await queue.run(1, async (key) => {
      seen.push(key);
    });
    assert.deepEqual(seen, ["a", "b", "c"]);
  });

  it("handles a key re-added while in progress once more afterwards, never concurrently", async () => {
    const queue = new WorkQueue({ clock: new ManualClock() });
    const gate = deferred();
    const calls: string[] = [];
    const abort = new AbortController();
    const running = queue.run(
      4,
      async (key) => {
        calls.push(key);
        if (key === "a" && calls.filter((k) => k === "a").length === 1) await gate.promise;
      },
      abort.signal,
    );
    queue.add("a");
    await until(() => calls.length === 1, "a to start");
    queue.add("a");
    queue.add("a");
    queue.add("b");
    await until(() => calls.includes("b"), "b on another worker");
    assert.deepEqual(calls, ["a", "b"], "a is not started again while in progress");
    gate.resolve();
    await until(() => calls.length === 3, "a again");
    assert.deepEqual(calls, ["a", "b", "a"]);
    abort.abort();
    await running;
  });

  it("never runs one key on two workers, while different keys do run in parallel", async () => {
    const queue = new WorkQueue({ clock: new ManualClock() });
    const active = new Map<string, number>();
    let maxPerKey = 0;
    let maxTotal = 0;
    let total = 0;
    let handled = 0;
    const abort = new AbortController();
    const running = queue.run(
      4,
      async (key) => {
        active.set(key, (active.get(key) ?? 0) + 1);
        total++;
        maxPerKey = Math.max(maxPerKey, active.get(key)!);
        maxTotal = Math.max(maxTotal, total);
        for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
        active.set(key, active.get(key)! - 1);
        total--;
        handled++;
      },
      abort.signal,
    );
    for (let round = 0; round < 50; round++) {
      for (const key of ["k0", "k1", "k2", "k3", "k4"])
        if ((round + key.charCodeAt(1)) % 2 === 0) queue.add(key);
      await new Promise((r) => setImmediate(r));
    }
    await until(() => queue.length === 0 && total === 0, "the queue to drain");
    assert.equal(maxPerKey, 1);
    assert.ok(maxTotal > 1, `workers ran in parallel (max ${maxTotal})`);
    assert.ok(handled >= 5);
    abort.abort();
    await running;
  });

  it("retries a failing key with growing backoff, reports the errors, and forgets it on success", async () => {
    const clock = new ManualClock();
    const errors: string[] = [];
    const queue = new WorkQueue({ clock, onError: (key, err) => errors.push(`${key}: ${String(err)}`) });
    const start = clock.now();
    const attempts: number[] = [];
    const abort = new AbortController();
    const running = queue.run(
      1,
      async () => {
        attempts.push(clock.now() - start);
        if (attempts.length <= 3) throw new Error("not yet");
      },
      abort.signal,
    );
    queue.add("a");
    await clock.advance(100);
    assert.deepEqual(attempts, [0, 5, 15, 35]);
    assert.equal(errors.length, 3);
    assert.equal(errors[0], "a: Error: not yet");
    assert.equal(queue.numRequeues("a"), 0, "forgotten after success");
    abort.abort();
    await running;
  });

  it("hands delayed keys out in due order; for a key delayed twice the earlier time wins", async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue({ clock });
    const start = clock.now();
    const seen: string[] = [];
    const abort = new AbortController();
    const running = queue.run(
      1,
      async (key) => {
        seen.push(`${key}@${clock.now() - start}`);
      },
      abort.signal,
    );
    queue.addAfter("c", 30);
    queue.addAfter("a", 10);
    queue.addAfter("b", 20);
    queue.addAfter("a", 50);
    queue.addAfter("x", 40);
    queue.addAfter("x", 25);
    queue.addAfter("now", 0);
    await clock.advance(0);
    assert.deepEqual(seen, ["now@0"]);
    await clock.advance(9);
    assert.deepEqual(seen, ["now@0"]);
    await clock.advance(100);
    assert.deepEqual(seen, ["now@0", "a@10", "b@20", "x@25", "c@30"]);
    assert.equal(clock.pending, 0);
    abort.abort();
    await running;
  });

  it("re-adds a key after the delay its handler asks for", async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue({ clock });
    const start = clock.now();
    const at: number[] = [];
    const abort = new AbortController();
    const running = queue.run(
      2,
      async () => {
        at.push(clock.now() - start);
        return at.length < 3 ? { requeueAfterMs: 100 } : undefined;
      },
      abort.signal,
    );
    queue.add("a");
    await clock.advance(1000);
    assert.deepEqual(at, [0, 100, 200]);
    abort.abort();
    await running;
  });

  it("on shutDown drains queued keys, ignores new ones and drops delayed ones", async () => {
    const clock = new ManualClock();
    const queue = new WorkQueue({ clock });
    const gate = deferred();
    const seen: string[] = [];
    queue.add("a");
    queue.add("b");
    queue.addAfter("delayed", 10);
    const running = queue.run(1, async (key) => {
      seen.push(key);
      if (key === "a" && seen.length === 1) await gate.promise;
    });
    await until(() => seen.length === 1, "a to start");
    queue.add("a"); // re-added while in progress: still handled after shutdown
    queue.shutDown();
    queue.add("late");
    queue.addAfter("late-delayed", 1);
    queue.addRateLimited("late-limited");
    gate.resolve();
    await running;
    assert.deepEqual(seen, ["a", "b", "a"]);
    assert.equal(clock.pending, 0, "no timers left behind");
    await clock.advance(100);
    assert.deepEqual(seen, ["a", "b", "a"]);
  });

  it("stops when the signal aborts, also with idle workers", async () => {
    const queue = new WorkQueue({ clock: new ManualClock() });
    const abort = new AbortController();
    const running = queue.run(3, async () => {}, abort.signal);
    abort.abort();
    await running;
    assert.equal(queue.shuttingDown, true);
  });
});

describe("rate limiting", () => {
  it("backs off per key from 5 ms, doubling up to 30 s, and forget resets it", () => {
    const backoff = new ExponentialBackoff({ baseMs: 5, maxMs: 30_000 });
    const delays = Array.from({ length: 15 }, () => backoff.next("a"));
    assert.deepEqual(
      delays,
      [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 30000, 30000],
    );
    assert.equal(backoff.next("b"), 5, "keys are independent");
    assert.equal(backoff.failures("a"), 15);
    backoff.forget("a");
    assert.equal(backoff.next("a"), 5);
    for (let i = 0; i < 2000; i++) backoff.next("huge");
    assert.equal(backoff.next("huge"), 30_000);
  });

  const bucketCases: Array<{ qps: number; burst: number; advances: number[]; want: number[] }> = [
    { qps: 10, burst: 2, advances: [0, 0, 0, 0], want: [0, 0, 100, 200] },
    { qps: 10, burst: 2, advances: [0, 0, 0, 1000], want: [0, 0, 100, 0] },
    { qps: 100, burst: 1, advances: [0, 5, 5], want: [0, 5, 10] },
  ];
  for (const { qps, burst, advances, want } of bucketCases) {
    it(`token bucket qps=${qps} burst=${burst} after ${advances.join(",")} ms → ${want.join(",")}`, async () => {
      const clock = new ManualClock();
      const bucket = new TokenBucket({ qps, burst, clock });
      const got: number[] = [];
      for (const ms of advances) {
        await clock.advance(ms);
        got.push(bucket.reserve());
      }
      assert.deepEqual(got, want);
    });
  }

  it("uses the larger of the key backoff and the overall bucket", () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter(clock, { qps: 1, burst: 2 });
    assert.deepEqual(
      [limiter.when("a"), limiter.when("b"), limiter.when("c")],
      [5, 5, 1000],
      "the third retry waits for a token",
    );
    assert.equal(limiter.numRequeues("a"), 1);
    limiter.forget("a");
    assert.equal(limiter.numRequeues("a"), 0);
  });
});

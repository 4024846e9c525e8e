// Waiting for room: only while the pool really grows, woken by changes, bounded by the deadline,
// with a message that says what it waited for.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { ChangeSignal } from "../core/change-signal.ts";
import { ManualClock } from "../core/manual-clock.ts";
import type { PoolGrowth, PoolRoom } from "./pool/pool-growth.ts";
import type { Allocation } from "./registry/agent-registry.ts";
import { allocateWhenRoom, createDeadline, DEFAULT_ROOM_WAIT_MS, noRoomError } from "./room-wait.ts";

const full = () => new FsbError(ErrorCode.ResourceExhausted, "no agent of pool default-pool has a free slot");
const noImage = () =>
  new FsbError(ErrorCode.FailedPrecondition, "image x is not on any agent", { field: "image" });
const growing: PoolGrowth = { kind: "growing", starting: 1, launching: 1 };

describe("noRoomError", () => {
  const cases: Array<{
    name: string;
    err: FsbError;
    growth: PoolGrowth;
    waited?: { ms: number; fromClient: boolean };
    code: ErrorCode;
    message: RegExp;
  }> = [
    {
      name: "at poolMax: RESOURCE_EXHAUSTED at once, saying so",
      err: full(),
      growth: { kind: "atMax", poolMax: 3 },
      code: ErrorCode.ResourceExhausted,
      message: /free slot; the pool has launched its maximum of 3 agents \(poolMax\)$/,
    },
    {
      name: "no launcher: RESOURCE_EXHAUSTED saying agents register themselves",
      err: full(),
      growth: { kind: "selfRegistered" },
      code: ErrorCode.ResourceExhausted,
      message: /register themselves/,
    },
    {
      name: "below poolMax with nothing planned (a port taken everywhere): the registry's reason alone",
      err: full(),
      growth: { kind: "stable" },
      code: ErrorCode.ResourceExhausted,
      message: /^no agent of pool default-pool has a free slot$/,
    },
    {
      name: "an image no agent has, and none coming: FAILED_PRECONDITION as is",
      err: noImage(),
      growth: { kind: "stable" },
      code: ErrorCode.FailedPrecondition,
      message: /^image: image x is not on any agent$/,
    },
    {
      name: "waited until the server's default: RESOURCE_EXHAUSTED saying for how long and what",
      err: full(),
      growth: growing,
      waited: { ms: DEFAULT_ROOM_WAIT_MS, fromClient: false },
      code: ErrorCode.ResourceExhausted,
      message: /^waited 30\.0 s for the 2 agent\(s\) pool "default-pool" is adding: no agent/,
    },
    {
      name: "waited until the server's default for an image no new agent brought: FAILED_PRECONDITION",
      err: noImage(),
      growth: growing,
      waited: { ms: DEFAULT_ROOM_WAIT_MS, fromClient: false },
      code: ErrorCode.FailedPrecondition,
      message: /^image: waited 30\.0 s for the 2 agent\(s\) pool "default-pool" is adding: image x is not/,
    },
    {
      name: "waited until the client's deadline: DEADLINE_EXCEEDED",
      err: full(),
      growth: growing,
      waited: { ms: 2000, fromClient: true },
      code: ErrorCode.DeadlineExceeded,
      message: /deadline passed; waited 2\.0 s for the 2 agent/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = noRoomError(c.err, "default-pool", c.growth, c.waited);
      assert.equal(got.code, c.code);
      assert.match(got.message, c.message);
    });
  }
});

/** A pool whose growth the test sets, recording demand as the controller would. */
class FakePools implements PoolRoom {
  growthNow: PoolGrowth = growing;
  needed = 0;
  settled: boolean[] = [];
  needRoom(): PoolGrowth {
    this.needed++;
    return this.growthNow;
  }
  settle(_ns: string, _pool: string, _name: string, placed: boolean): void {
    this.settled.push(placed);
  }
  growth(): PoolGrowth {
    return this.growthNow;
  }
  /** Agents it adds land on other nodes (Pods), whose images may differ; false: one node (local). */
  otherNodes = false;
  growthMayBringImages(): boolean {
    return this.otherNodes;
  }
}

const allocation: Allocation = {
  key: "s-1",
  agentId: "a1",
  address: "127.0.0.1",
  url: "",
  nodeName: "n",
  ports: [],
};

function setup(timeoutMs?: number, initial: PoolGrowth = growing, noRoom = full, otherNodes = false) {
  const clock = new ManualClock();
  const changes = new ChangeSignal();
  const pools = new FakePools();
  pools.growthNow = initial;
  pools.otherNodes = otherNodes;
  let room = false;
  let attempts = 0;
  const waiting = allocateWhenRoom({
    allocate: () => {
      attempts++;
      if (!room) throw noRoom();
      return allocation;
    },
    pools,
    changes,
    namespace: "default",
    pool: "default-pool",
    name: "s",
    deadline: createDeadline(clock.now(), timeoutMs),
    clock,
  });
  return {
    clock,
    changes,
    pools,
    waiting,
    attempts: () => attempts,
    makeRoom: () => {
      room = true;
    },
  };
}

describe("allocateWhenRoom", () => {
  it("fails at once when the pool is not growing", async () => {
    const t = setup(undefined, { kind: "atMax", poolMax: 1 });
    await assert.rejects(
      t.waiting,
      (err: FsbError) => err.code === ErrorCode.ResourceExhausted && /poolMax/.test(err.message),
    );
    assert.equal(t.attempts(), 1);
    assert.deepEqual(t.pools.settled, [false]);
  });

  it("waits while the pool grows and takes the slot on the change that brings it", async () => {
    const t = setup();
    await t.clock.advance(5000);
    assert.equal(t.attempts(), 1, "no polling: nothing changed, nothing tried");
    t.changes.notify();
    await t.clock.advance(0);
    assert.equal(t.attempts(), 2, "a change that brings no room: tried again, still waiting");
    t.makeRoom();
    t.changes.notify();
    assert.deepEqual(await t.waiting, allocation);
    assert.equal(t.attempts(), 3);
    assert.deepEqual(t.pools.settled, [true]);
  });

  it("gives up at the default deadline with RESOURCE_EXHAUSTED saying it waited", async () => {
    const t = setup();
    const outcome = t.waiting.then(
      () => undefined,
      (err: FsbError) => err,
    );
    await t.clock.advance(DEFAULT_ROOM_WAIT_MS);
    const err = await outcome;
    assert.equal(err?.code, ErrorCode.ResourceExhausted);
    assert.match(err?.message ?? "", /^waited 30\.0 s/);
    assert.deepEqual(t.pools.settled, [false]);
  });

  it("right after a start, waits for self-registered agents to come back, and places on the one that does", async () => {
    const t = setup(undefined, { kind: "returning", until: 1_700_000_008_000 });
    await t.clock.advance(3000);
    t.makeRoom();
    t.changes.notify();
    assert.deepEqual(await t.waiting, allocation);
    assert.deepEqual(t.pools.settled, [true]);
  });

  it("stops waiting for agents to come back when the return window ends, with the pool's own reason", async () => {
    const start = new ManualClock().now();
    const t = setup(undefined, { kind: "returning", until: start + 8000 });
    const outcome = t.waiting.then(
      () => undefined,
      (err: FsbError) => err,
    );
    await t.clock.advance(7999);
    assert.equal(t.attempts(), 1, "still waiting inside the window");
    t.pools.growthNow = { kind: "selfRegistered" };
    await t.clock.advance(1);
    const err = await outcome;
    assert.equal(t.attempts(), 2, "looked again when the window ended");
    assert.equal(err?.code, ErrorCode.ResourceExhausted);
    assert.match(err?.message ?? "", /register themselves/);
  });

  it("gives up at the client's deadline with DEADLINE_EXCEEDED", async () => {
    const t = setup(2000);
    const outcome = t.waiting.then(
      () => undefined,
      (err: FsbError) => err,
    );
    await t.clock.advance(2000);
    assert.equal((await outcome)?.code, ErrorCode.DeadlineExceeded);
  });

  it("an image no agent has, in a growing pool whose agents share one node: FAILED_PRECONDITION at once, no demand", async () => {
    const t = setup(undefined, growing, noImage, false);
    await assert.rejects(
      t.waiting,
      (err: FsbError) => err.code === ErrorCode.FailedPrecondition && err.field === "image",
    );
    assert.equal(t.attempts(), 1);
    assert.equal(t.pools.needed, 0, "new agents on the same node cannot bring it: no launch for it");
    assert.deepEqual(t.pools.settled, []);
  });

  it("an image no agent has, in a growing pool whose agents may land on other nodes: waits, then FAILED_PRECONDITION saying so", async () => {
    const t = setup(undefined, growing, noImage, true);
    const outcome = t.waiting.then(
      () => undefined,
      (err: FsbError) => err,
    );
    await t.clock.advance(5000);
    assert.equal(t.pools.needed, 1, "it counts as demand while it waits");
    await t.clock.advance(DEFAULT_ROOM_WAIT_MS);
    const err = await outcome;
    assert.equal(err?.code, ErrorCode.FailedPrecondition);
    assert.equal(err?.field, "image");
    assert.match(
      err?.rawMessage ?? "",
      /^waited 30\.0 s for the 2 agent\(s\) pool "default-pool" is adding: image x is not on any agent$/,
    );
  });

  it("stops growing while waiting: the next change ends the wait with the true reason", async () => {
    const t = setup();
    t.pools.growthNow = { kind: "atMax", poolMax: 2 };
    t.changes.notify();
    await assert.rejects(t.waiting, /poolMax/);
  });
});

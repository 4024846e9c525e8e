// Table tests of the leader election state machine: acquire, renew, stand by and lose, on a manual clock.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../core/manual-clock.ts";
import {
  decide,
  type ElectionDecision,
  type ElectionState,
  initialElectionState,
  type LeaderElectionConfig,
  type LeaseRecord,
  observeLease,
  releasedRecord,
  stoppedLeading,
  validateElectionConfig,
  wroteLease,
} from "./leader-election.ts";

const config: LeaderElectionConfig = {
  identity: "me",
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};
const T0 = new ManualClock().now();

function held(holder: string, renewTime: number, transitions = 3): LeaseRecord {
  return {
    holderIdentity: holder,
    leaseDurationSeconds: 15,
    acquireTime: T0 - 60_000,
    renewTime,
    leaseTransitions: transitions,
  };
}

/** Replays observations (lease content at a time) and asks for a decision at `at`. */
interface Case {
  name: string;
  /** The state before the observations (default: a fresh candidate). */
  start?: ElectionState;
  observations: Array<{ at: number; record: LeaseRecord | undefined }>;
  at: number;
  want: ElectionDecision;
}

const cases: Case[] = [
  {
    name: "no lease yet: acquire with no transitions",
    observations: [{ at: T0, record: undefined }],
    at: T0,
    want: {
      action: "acquire",
      record: {
        holderIdentity: "me",
        leaseDurationSeconds: 15,
        acquireTime: T0,
        renewTime: T0,
        leaseTransitions: 0,
      },
    },
  },
  {
    name: "a released lease (holder empty): acquire at once, one more transition",
    observations: [{ at: T0, record: releasedRecord(held("other", T0), T0) }],
    at: T0,
    want: {
      action: "acquire",
      record: {
        holderIdentity: "me",
        leaseDurationSeconds: 15,
        acquireTime: T0,
        renewTime: T0,
        leaseTransitions: 4,
      },
    },
  },
  {
    name: "another holder just seen: stand by for the whole lease duration",
    observations: [{ at: T0, record: held("other", T0) }],
    at: T0 + 14_999,
    want: { action: "standby", holder: "other", until: T0 + 15_000 },
  },
  {
    name: "another holder unchanged for the lease duration: take over",
    observations: [
      { at: T0, record: held("other", T0) },
      { at: T0 + 15_000, record: held("other", T0) },
    ],
    at: T0 + 15_000,
    want: {
      action: "acquire",
      record: {
        holderIdentity: "me",
        leaseDurationSeconds: 15,
        acquireTime: T0 + 15_000,
        renewTime: T0 + 15_000,
        leaseTransitions: 4,
      },
    },
  },
  {
    name: "another holder that keeps renewing: the wait starts again at each change",
    observations: [
      { at: T0, record: held("other", T0) },
      { at: T0 + 10_000, record: held("other", T0 + 10_000) },
      { at: T0 + 20_000, record: held("other", T0 + 10_000) },
    ],
    at: T0 + 20_000,
    want: { action: "standby", holder: "other", until: T0 + 25_000 },
  },
  {
    name: "clock skew: a renewTime an hour behind ours still counts from when it changed",
    observations: [
      { at: T0, record: held("other", T0 - 3_600_000) },
      { at: T0 + 5_000, record: held("other", T0 - 3_595_000) },
    ],
    at: T0 + 10_000,
    want: { action: "standby", holder: "other", until: T0 + 20_000 },
  },
  {
    name: "clock skew: a renewTime an hour ahead does not keep a dead holder alive",
    observations: [
      { at: T0, record: held("other", T0 + 3_600_000) },
      { at: T0 + 16_000, record: held("other", T0 + 3_600_000) },
    ],
    at: T0 + 16_000,
    want: {
      action: "acquire",
      record: {
        holderIdentity: "me",
        leaseDurationSeconds: 15,
        acquireTime: T0 + 16_000,
        renewTime: T0 + 16_000,
        leaseTransitions: 4,
      },
    },
  },
  {
    name: "our own lease: renew, keeping acquireTime and transitions",
    start: wroteLease(held("me", T0), T0),
    observations: [{ at: T0 + 2_000, record: held("me", T0) }],
    at: T0 + 2_000,
    want: { action: "renew", record: { ...held("me", T0), renewTime: T0 + 2_000 } },
  },
  {
    name: "leader that could not renew within the deadline: lose",
    start: wroteLease(held("me", T0), T0),
    observations: [{ at: T0 + 10_000, record: held("me", T0) }],
    at: T0 + 10_000,
    want: { action: "lose", reason: "could not renew the lease within 10000 ms" },
  },
  {
    name: "leader whose lease another replica took: lose",
    start: wroteLease(held("me", T0), T0),
    observations: [{ at: T0 + 2_000, record: held("other", T0 + 1_000) }],
    at: T0 + 2_000,
    want: { action: "lose", reason: "the lease is now held by other" },
  },
  {
    name: "leader whose lease was released by someone else: lose",
    start: wroteLease(held("me", T0), T0),
    observations: [{ at: T0 + 2_000, record: releasedRecord(held("me", T0), T0 + 1_000) }],
    at: T0 + 2_000,
    want: { action: "lose", reason: "the lease is now held by nobody (released)" },
  },
  {
    name: "a candidate that stepped down may renew a lease still naming it",
    start: stoppedLeading(wroteLease(held("me", T0), T0)),
    observations: [{ at: T0 + 12_000, record: held("me", T0) }],
    at: T0 + 12_000,
    want: { action: "renew", record: { ...held("me", T0), renewTime: T0 + 12_000 } },
  },
];

describe("leader election decisions", () => {
  for (const c of cases) {
    it(c.name, () => {
      let state = c.start ?? initialElectionState;
      for (const { at, record } of c.observations) state = observeLease(state, record, at);
      assert.deepEqual(decide(state, config, c.at), c.want);
    });
  }

  it("observeLease keeps the change time while the content stays the same", () => {
    const once = observeLease(initialElectionState, held("other", T0), T0);
    const again = observeLease(once, held("other", T0), T0 + 9_000);
    assert.equal(again.observed?.changedAt, T0);
    const changed = observeLease(again, held("other", T0 + 9_000), T0 + 9_000);
    assert.equal(changed.observed?.changedAt, T0 + 9_000);
    assert.equal(observeLease(changed, undefined, T0 + 10_000).observed, undefined);
  });

  it("releasedRecord hands the lease to nobody for one second, keeping the transitions", () => {
    assert.deepEqual(releasedRecord(held("me", T0, 7), T0 + 5), {
      holderIdentity: "",
      leaseDurationSeconds: 1,
      acquireTime: T0 + 5,
      renewTime: T0 + 5,
      leaseTransitions: 7,
    });
  });

  const badTimings: Array<[string, Partial<LeaderElectionConfig>]> = [
    ["a renew deadline as long as the lease", { renewDeadlineMs: 15_000 }],
    ["a retry period as long as the renew deadline", { retryPeriodMs: 10_000 }],
    ["no identity", { identity: "" }],
    ["a lease of fractional seconds", { leaseDurationMs: 15_500 }],
  ];
  for (const [what, change] of badTimings) {
    it(`rejects ${what}`, () =>
      assert.throws(() => validateElectionConfig({ ...config, ...change }), RangeError));
  }
});

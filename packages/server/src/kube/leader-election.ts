/**
 * Leader election over a Lease, as a pure state machine: from what was observed of the lease, this
 * process's clock and identity, decide to acquire, renew, stand by or give leadership up.
 */

/** The fields of a coordination.k8s.io/v1 Lease's spec that the election uses; times in epoch ms. */
export interface LeaseRecord {
  /** Who holds the lease; "" when nobody does (released). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: number | undefined;
  renewTime: number | undefined;
  leaseTransitions: number;
}

export interface LeaderElectionConfig {
  identity: string;
  /** How long a lease that stopped changing keeps others waiting (Lease leaseDurationSeconds). */
  leaseDurationMs: number;
  /** A leader that could not renew for this long stops leading; shorter than the lease duration. */
  renewDeadlineMs: number;
  /** How often the lease is renewed by the leader and tried by the others. */
  retryPeriodMs: number;
}

/**
 * Shorter than client-go's 15 s / 10 s / 2 s, because only the leader serves the API: the API is
 * away from the old leader's death until the new one serves, and that must stay within 15 s. A
 * follower takes the lease at most one retry period (when it last saw the lease change) plus the
 * lease duration after the last renewal: 1 + 8 = 9 s here, against 2 + 15 = 17 s with client-go's
 * values, which alone miss the goal. The leader keeps client-go's 2 s gap between its renew deadline
 * and the lease duration, which is what keeps two leaders from overlapping (the old one has stopped
 * before anyone may take over), and still rides out 6 s of failed renewals (six attempts). A renewal
 * a second is one small write, nothing to an API server. docs/kubernetes.md gives the measured times.
 */
export const DEFAULT_LEASE_DURATION_MS = 8_000;
export const DEFAULT_RENEW_DEADLINE_MS = 6_000;
export const DEFAULT_RETRY_PERIOD_MS = 1_000;

/** What this process knows about the election. */
export interface ElectionState {
  /**
   * The lease as last read or written, and when (by this process's clock) its content last changed;
   * undefined while the lease does not exist. Expiry is measured from `changedAt`, never from the
   * holder's renewTime, so clocks that disagree between replicas do not matter.
   */
  observed: { record: LeaseRecord; changedAt: number } | undefined;
  /** When this process's last successful acquire or renew started; undefined unless it leads. */
  renewedAt: number | undefined;
}

export const initialElectionState: ElectionState = { observed: undefined, renewedAt: undefined };

export type ElectionDecision =
  /** Write `record` (create the lease if it does not exist): this process takes the lease. */
  | { action: "acquire"; record: LeaseRecord }
  /** Write `record`: this process holds the lease and extends it. */
  | { action: "renew"; record: LeaseRecord }
  /** Someone else holds a live lease: try again later (it cannot expire before `until`). */
  | { action: "standby"; holder: string; until: number }
  /** This process led but must stop now, before anything else happens. */
  | { action: "lose"; reason: string };

/** Records what a read of the lease returned (undefined: it does not exist) at `now`. */
export function observeLease(
  state: ElectionState,
  record: LeaseRecord | undefined,
  now: number,
): ElectionState {
  if (record === undefined) return { ...state, observed: undefined };
  const previous = state.observed;
  if (previous !== undefined && sameRecord(previous.record, record)) return state;
  return { ...state, observed: { record, changedAt: now } };
}

/** The state after this process wrote `record` successfully, the write having started at `startedAt`. */
export function wroteLease(record: LeaseRecord, startedAt: number): ElectionState {
  return { observed: { record, changedAt: startedAt }, renewedAt: startedAt };
}

/** The state after this process stopped leading. */
export function stoppedLeading(state: ElectionState): ElectionState {
  return { ...state, renewedAt: undefined };
}

/** Whether this process leads in `state`. */
export function isLeading(state: ElectionState): boolean {
  return state.renewedAt !== undefined;
}

/** What to do now. */
export function decide(state: ElectionState, config: LeaderElectionConfig, now: number): ElectionDecision {
  const { identity } = config;
  const leading = isLeading(state);
  if (leading && now - state.renewedAt! >= config.renewDeadlineMs) {
    return { action: "lose", reason: `could not renew the lease within ${config.renewDeadlineMs} ms` };
  }
  const observed = state.observed;
  if (observed === undefined) return { action: "acquire", record: newTerm(config, now, 0) };
  const record = observed.record;
  if (record.holderIdentity === identity) {
    return {
      action: "renew",
      record: {
        ...record,
        leaseDurationSeconds: durationSeconds(config),
        acquireTime: record.acquireTime ?? now,
        renewTime: now,
      },
    };
  }
  if (leading) {
    const holder = record.holderIdentity === "" ? "nobody (released)" : record.holderIdentity;
    return { action: "lose", reason: `the lease is now held by ${holder}` };
  }
  const transitions = record.leaseTransitions + 1;
  if (record.holderIdentity === "") return { action: "acquire", record: newTerm(config, now, transitions) };
  const until = observed.changedAt + record.leaseDurationSeconds * 1000;
  if (now < until) return { action: "standby", holder: record.holderIdentity, until };
  return { action: "acquire", record: newTerm(config, now, transitions) };
}

/** The record a graceful leader leaves: nobody holds it, so another replica takes over at once. */
export function releasedRecord(record: LeaseRecord, now: number): LeaseRecord {
  return {
    holderIdentity: "",
    leaseDurationSeconds: 1,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: record.leaseTransitions,
  };
}

/** Checks that the timings can work: retry < renew deadline < lease duration. */
export function validateElectionConfig(config: LeaderElectionConfig): void {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = config;
  if (config.identity === "") throw new RangeError("leader election needs an identity");
  if (!(retryPeriodMs > 0 && retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
    throw new RangeError(
      `leader election timings must satisfy 0 < retry period (${retryPeriodMs} ms) < renew deadline (${renewDeadlineMs} ms) < lease duration (${leaseDurationMs} ms)`,
    );
  }
  if (leaseDurationMs % 1000 !== 0) throw new RangeError("the lease duration must be whole seconds");
}

function newTerm(config: LeaderElectionConfig, now: number, leaseTransitions: number): LeaseRecord {
  return {
    holderIdentity: config.identity,
    leaseDurationSeconds: durationSeconds(config),
    acquireTime: now,
    renewTime: now,
    leaseTransitions,
  };
}

function durationSeconds(config: LeaderElectionConfig): number {
  return Math.round(config.leaseDurationMs / 1000);
}

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}

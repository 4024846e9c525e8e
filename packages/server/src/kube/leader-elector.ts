/** Runs leader election against a Lease: reads, creates and updates it with optimistic concurrency, on a clock. */
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { type Clock, sleep, systemClock, type Timer } from "../core/clock.ts";
import {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  decide,
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

/** A Lease as read or written, with the resourceVersion that makes the next write conflict-checked. */
export interface LeaseSnapshot {
  record: LeaseRecord;
  resourceVersion: string;
}

/**
 * Reads and writes one Lease. Failures are FsbErrors: ABORTED when `update`'s version is stale (someone
 * else wrote), ALREADY_EXISTS when `create` lost a race, UNAVAILABLE when the API server is unreachable.
 */
export interface LeaseClient {
  /** The lease, or undefined if it does not exist. */
  get(): Promise<LeaseSnapshot | undefined>;
  create(record: LeaseRecord): Promise<LeaseSnapshot>;
  update(record: LeaseRecord, resourceVersion: string): Promise<LeaseSnapshot>;
}

/** Where the elector logs; a pino Logger fits. */
export interface LeaderElectorLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface LeaderElectorOptions {
  client: LeaseClient;
  /** This replica, unique among them (the Pod name plus a random suffix, say). */
  identity: string;
  /** Default {@link DEFAULT_LEASE_DURATION_MS}. */
  leaseDurationMs?: number;
  /** Default {@link DEFAULT_RENEW_DEADLINE_MS}. */
  renewDeadlineMs?: number;
  /** Default {@link DEFAULT_RETRY_PERIOD_MS}. */
  retryPeriodMs?: number;
  clock?: Clock;
  logger?: LeaderElectorLogger;
  /**
   * This replica became leader: start the leader's work, and stop it when `signal` aborts. May be
   * called again after an onStoppedLeading, if leadership comes back.
   */
  onStartedLeading(signal: AbortSignal): void;
  /**
   * This replica stopped leading (lost the lease, or the elector is stopping). The leader's signal has
   * aborted already; a graceful stop releases the lease only after the returned promise settles, so no
   * two leaders work at once.
   */
  onStoppedLeading(): void | Promise<void>;
}

/** How long a graceful stop waits for the lease release before giving up on it. */
const RELEASE_TIMEOUT_MS = 5_000;

const silent: LeaderElectorLogger = { info: () => {}, warn: () => {} };

/**
 * Campaigns for the lease every retry period: a leader renews, the others wait until the lease is
 * released or stops changing for its whole duration. A leader that cannot renew for the renew deadline
 * steps down at once (a timer, so a hanging request cannot delay it). `run` returns after a graceful
 * stop, which releases the lease (holder "") so another replica takes over without waiting.
 */
export class LeaderElector {
  readonly #client: LeaseClient;
  readonly #config: LeaderElectionConfig;
  readonly #clock: Clock;
  readonly #log: LeaderElectorLogger;
  readonly #onStarted: (signal: AbortSignal) => void;
  readonly #onStopped: () => void | Promise<void>;
  #state: ElectionState = initialElectionState;
  #snapshot: LeaseSnapshot | undefined;
  #leader: AbortController | undefined;
  #deadline: Timer | undefined;
  #stepping: Promise<void> = Promise.resolve();

  constructor(options: LeaderElectorOptions) {
    this.#config = {
      identity: options.identity,
      leaseDurationMs: options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
      renewDeadlineMs: options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS,
      retryPeriodMs: options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS,
    };
    validateElectionConfig(this.#config);
    this.#client = options.client;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger ?? silent;
    this.#onStarted = options.onStartedLeading;
    this.#onStopped = options.onStoppedLeading;
  }

  /** Whether this replica leads now. */
  get isLeader(): boolean {
    return this.#leader !== undefined;
  }

  get identity(): string {
    return this.#config.identity;
  }

  /** Who holds the lease as last read or written ("" when released, undefined before the first read). */
  get holder(): string | undefined {
    return this.#state.observed?.record.holderIdentity;
  }

  /** Campaigns until `signal` aborts, then stops leading and releases the lease. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const wait = await this.#tick();
      await sleep(this.#clock, wait, signal);
    }
    const wasLeader = this.isLeader;
    await this.#stepDown("stopping");
    await this.#stepping;
    if (wasLeader) await this.#release();
  }

  /** One look at the lease and what follows from it; answers how long to wait before the next. */
  async #tick(): Promise<number> {
    const retry = this.#config.retryPeriodMs;
    try {
      this.#snapshot = await this.#client.get();
      this.#state = observeLease(this.#state, this.#snapshot?.record, this.#clock.now());
    } catch (err) {
      // Without a read only the renew deadline matters; its timer handles it.
      this.#log.warn({ err, identity: this.identity }, "cannot read the leader lease");
      return retry;
    }
    const decision = decide(this.#state, this.#config, this.#clock.now());
    switch (decision.action) {
      case "lose":
        await this.#stepDown(decision.reason);
        return retry;
      case "standby":
        // Looking again exactly when the lease would expire saves up to a retry period of failover.
        return Math.max(0, Math.min(retry, decision.until - this.#clock.now()));
      case "acquire":
      case "renew":
        await this.#write(decision.record, decision.action);
        return retry;
    }
  }

  async #write(record: LeaseRecord, action: "acquire" | "renew"): Promise<void> {
    const startedAt = this.#clock.now();
    const snapshot = this.#snapshot;
    try {
      this.#snapshot =
        snapshot === undefined
          ? await this.#client.create(record)
          : await this.#client.update(record, snapshot.resourceVersion);
    } catch (err) {
      // A conflict means another replica wrote first: the next read shows who holds the lease.
      const raced = isFsbError(err, ErrorCode.Aborted) || isFsbError(err, ErrorCode.AlreadyExists);
      if (!raced) this.#log.warn({ err, identity: this.identity, action }, "cannot write the leader lease");
      return;
    }
    // Counted from when the write started: the lease cannot have been renewed later than that.
    if (this.#clock.now() - startedAt >= this.#config.renewDeadlineMs) return;
    this.#state = wroteLease(this.#snapshot.record, startedAt);
    this.#armDeadline();
    if (!this.isLeader) this.#startLeading(record);
  }

  #startLeading(record: LeaseRecord): void {
    const leader = new AbortController();
    this.#leader = leader;
    this.#log.info(
      { identity: this.identity, transitions: record.leaseTransitions },
      "became leader; starting the leader's work",
    );
    try {
      this.#onStarted(leader.signal);
    } catch (err) {
      this.#log.warn({ err }, "onStartedLeading threw");
    }
  }

  /** Steps down from leadership when the renew deadline passes without a renewal. */
  #armDeadline(): void {
    this.#deadline?.cancel();
    const renewedAt = this.#state.renewedAt!;
    this.#deadline = this.#clock.setTimer(
      () => {
        this.#deadline = undefined;
        if (this.#state.renewedAt === renewedAt) {
          void this.#stepDown(`could not renew the lease within ${this.#config.renewDeadlineMs} ms`);
        }
      },
      renewedAt + this.#config.renewDeadlineMs - this.#clock.now(),
    );
  }

  #stepDown(reason: string): Promise<void> {
    this.#state = stoppedLeading(this.#state);
    this.#deadline?.cancel();
    this.#deadline = undefined;
    const leader = this.#leader;
    if (leader === undefined) return this.#stepping;
    this.#leader = undefined;
    leader.abort();
    this.#log.warn({ identity: this.identity, reason }, "stopped leading");
    this.#stepping = (async () => {
      try {
        await this.#onStopped();
      } catch (err) {
        this.#log.warn({ err }, "onStoppedLeading threw");
      }
    })();
    return this.#stepping;
  }

  /** Hands the lease back (holder ""), if it is still ours as last written. */
  async #release(): Promise<void> {
    const snapshot = this.#snapshot;
    if (snapshot === undefined || snapshot.record.holderIdentity !== this.identity) return;
    let timer: Timer | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = this.#clock.setTimer(resolve, RELEASE_TIMEOUT_MS);
    });
    const release = this.#client
      .update(releasedRecord(snapshot.record, this.#clock.now()), snapshot.resourceVersion)
      .then(
        () => this.#log.info({ identity: this.identity }, "released the leader lease"),
        (err: unknown) =>
          this.#log.warn({ err, identity: this.identity }, "could not release the leader lease"),
      );
    await Promise.race([release, timeout]);
    timer?.cancel();
  }
}

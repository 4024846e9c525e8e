/** Places a create, waiting for room while its pool really grows, bounded by the call's deadline. */
import { ErrorCode, FsbError, isFsbError } from "@fast-sandbox/api";
import type { ChangeSignal } from "../core/change-signal.ts";
import type { Clock } from "../core/clock.ts";
import { mayGetRoom, type PoolGrowth, type PoolRoom } from "./pool/pool-growth.ts";
import type { Allocation } from "./registry/agent-registry.ts";

/** Without a deadline from the client, a create waits at most this long for room (docs/api.md). */
export const DEFAULT_ROOM_WAIT_MS = 30_000;

/** Until when a create may wait, and whose limit that is (it decides the code of a timeout). */
export interface CreateDeadline {
  at: number;
  /** The client sent a deadline (gRPC/Connect timeout); otherwise it is {@link DEFAULT_ROOM_WAIT_MS}. */
  fromClient: boolean;
}

/** The deadline of a create that started at `now`, given the client's remaining timeout if it sent one. */
export function createDeadline(now: number, clientTimeoutMs: number | undefined): CreateDeadline {
  return clientTimeoutMs === undefined
    ? { at: now + DEFAULT_ROOM_WAIT_MS, fromClient: false }
    : { at: now + Math.max(0, clientTimeoutMs), fromClient: true };
}

/** Whether `err` is the registry saying "nothing fits now" (no slot, or no agent with the image yet). */
export function isNoRoom(err: unknown): err is FsbError {
  return isFsbError(err, ErrorCode.ResourceExhausted) || isFsbError(err, ErrorCode.FailedPrecondition);
}

/**
 * Whether `err` is an image no agent of the pool has, which no growth of the pool can bring: new
 * agents would run on the same node (or none are launched). Such a create answers at once and
 * does not count as demand; with agents that may land on other nodes it waits like any other.
 */
export function imageGrowthCannotBring(
  err: FsbError,
  pools: PoolRoom | undefined,
  namespace: string,
  pool: string,
): boolean {
  return (
    err.code === ErrorCode.FailedPrecondition && !(pools?.growthMayBringImages(namespace, pool) ?? false)
  );
}

/**
 * The answer once a create stops looking for room. Nothing waited (the pool is not growing): the
 * registry's own error, RESOURCE_EXHAUSTED saying why the pool cannot grow, or FAILED_PRECONDITION
 * for an image no agent has. Waited until the deadline: DEADLINE_EXCEEDED when it was the
 * client's (that is what its own timer reports too), else the registry's code saying how long it
 * waited and for what: RESOURCE_EXHAUSTED for room, FAILED_PRECONDITION (field `image`) for an
 * image the new agents did not bring either. Pure, so every message can be checked.
 */
export function noRoomError(
  err: FsbError,
  pool: string,
  growth: PoolGrowth,
  waited?: { ms: number; fromClient: boolean },
): FsbError {
  if (waited) {
    const what =
      growth.kind === "growing"
        ? `for the ${growth.starting + growth.launching} agent(s) pool "${pool}" is adding`
        : growth.kind === "returning"
          ? `for pool "${pool}"'s agents to register again after the controller started`
          : `for room in pool "${pool}"`;
    const text = `waited ${(waited.ms / 1000).toFixed(1)} s ${what}: ${err.message}`;
    if (waited.fromClient) {
      return new FsbError(ErrorCode.DeadlineExceeded, `the call's deadline passed; ${text}`, { cause: err });
    }
    if (err.code === ErrorCode.FailedPrecondition) {
      const waitedText = `waited ${(waited.ms / 1000).toFixed(1)} s ${what}: ${err.rawMessage}`;
      return new FsbError(err.code, waitedText, { cause: err, ...(err.field ? { field: err.field } : {}) });
    }
    return new FsbError(ErrorCode.ResourceExhausted, text, { cause: err });
  }
  if (err.code !== ErrorCode.ResourceExhausted) return err;
  switch (growth.kind) {
    case "atMax":
      return new FsbError(
        ErrorCode.ResourceExhausted,
        `${err.message}; the pool has launched its maximum of ${growth.poolMax} agents (poolMax)`,
        { cause: err },
      );
    case "selfRegistered":
      return new FsbError(
        ErrorCode.ResourceExhausted,
        `${err.message}; no agents are launched for this pool (its agents register themselves)`,
        { cause: err },
      );
    default:
      return err;
  }
}

export interface RoomWaitOptions {
  /** One placement attempt: an allocation, or the registry's RESOURCE_EXHAUSTED / FAILED_PRECONDITION. */
  allocate: () => Allocation;
  /** The pool controller; absent when nothing can grow. */
  pools: PoolRoom | undefined;
  /** Fires when room may have appeared (registry changes, launches changing). */
  changes: ChangeSignal;
  namespace: string;
  pool: string;
  /** The sandbox's name: its demand counts once however often it looks. */
  name: string;
  deadline: CreateDeadline;
  /** The client went away: stop waiting. */
  signal?: AbortSignal;
  clock: Clock;
}

/**
 * Tries to place the create; while nothing fits and the pool is really growing, waits for the
 * next change (an agent up, a slot freed, a drain lifted, a launch moving) and tries again, until
 * the deadline. The change is subscribed to before each attempt, so none can slip in between.
 * Its demand counts for the pool controller while it waits, which is what makes the pool grow.
 */
export async function allocateWhenRoom(o: RoomWaitOptions): Promise<Allocation> {
  const started = o.clock.now();
  let waiting = false;
  let placed = false;
  try {
    for (;;) {
      const next = o.changes.next();
      try {
        const allocation = o.allocate();
        placed = true;
        return allocation;
      } catch (err) {
        if (!isNoRoom(err)) throw err;
        if (imageGrowthCannotBring(err, o.pools, o.namespace, o.pool)) throw err;
        const growth = o.pools?.needRoom(o.namespace, o.pool, o.name) ?? { kind: "absent" as const };
        waiting = o.pools !== undefined;
        const now = o.clock.now();
        if (!mayGetRoom(growth)) throw noRoomError(err, o.pool, growth);
        if (now >= o.deadline.at) {
          throw noRoomError(err, o.pool, growth, { ms: now - started, fromClient: o.deadline.fromClient });
        }
        // Agents that may come back are waited for only while they may: then the create looks again.
        const until = growth.kind === "returning" ? Math.min(growth.until, o.deadline.at) : o.deadline.at;
        await untilChangeOrDeadline(next.changed, until - now, o.clock, o.signal);
        if (o.signal?.aborted)
          throw new FsbError(ErrorCode.Cancelled, "the client went away while the create waited for room");
      } finally {
        next.cancel();
      }
    }
  } finally {
    if (waiting) o.pools?.settle(o.namespace, o.pool, o.name, placed);
  }
}

/** Resolves on the change, after `ms`, or when `signal` aborts, whichever comes first. */
function untilChangeOrDeadline(
  changed: Promise<void>,
  ms: number,
  clock: Clock,
  signal: AbortSignal | undefined,
): Promise<void> {
  return new Promise((resolve) => {
    const timer = clock.setTimer(done, ms);
    const onAbort = () => done();
    signal?.addEventListener("abort", onAbort, { once: true });
    void changed.then(done);
    function done() {
      timer.cancel();
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }
  });
}

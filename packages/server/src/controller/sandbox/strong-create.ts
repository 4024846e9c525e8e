/** Strong mode's create (docs/api.md, "Consistency modes"): write the Sandbox Pending, let the reconciler place and start it, answer once it runs. */
import {
  API_VERSION,
  DEFAULT_POOL,
  ErrorCode,
  FsbError,
  isFsbError,
  objectKey,
  SANDBOX_FINALIZER,
  SANDBOX_KIND,
  type Sandbox,
  SandboxCondition,
  SandboxReason,
  type SandboxSpec,
} from "@fast-sandbox/api";
import type { ChangeSignal } from "../../core/change-signal.ts";
import type { Clock } from "../../core/clock.ts";
import type { ObjectStore } from "../../store/object-store.ts";
import { apiErrorOfStore } from "../create-failure.ts";
import { mayGetRoom, type PoolGrowth, type PoolRoom } from "../pool/pool-growth.ts";
import { type CreateDeadline, imageGrowthCannotBring, noRoomError } from "../room-wait.ts";
import { createdAtAnnotations } from "./created-at.ts";
import type { StatusWaiters } from "./status-waiters.ts";
import { condition, pending, settledOutcome } from "./transitions.ts";
import { unschedulableError } from "./unschedulable.ts";

/** Without a client deadline, a strong create answers within this long whatever happens. */
export const STRONG_CREATE_TIMEOUT_MS = 60_000;

export interface StrongCreateOptions {
  store: ObjectStore;
  waiters: StatusWaiters;
  /** Hands a key to the Sandbox reconciler. */
  enqueue: (key: string) => void;
  pools: PoolRoom | undefined;
  /** Fires when room may have appeared. */
  changes: ChangeSignal;
  clock: Clock;
}

export interface StrongCreateRequest {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  spec: SandboxSpec;
  deadline: CreateDeadline;
  signal?: AbortSignal;
}

/**
 * Writes the object, then follows its status. While the reconciler finds no room and the pool
 * really grows, it waits, and every change of room (an agent up, a slot freed) sends the sandbox
 * back to the reconciler at once. It answers as soon as the sandbox runs, fails, or cannot get
 * room; a sandbox that did not run is deleted, so a failed call leaves nothing behind.
 * `existing` answers for a name that is already taken.
 */
export async function createStrong(
  o: StrongCreateOptions,
  r: StrongCreateRequest,
  existing: () => Promise<Sandbox>,
): Promise<Sandbox> {
  let stored: Sandbox;
  try {
    stored = await o.store.create<SandboxSpec, Sandbox["status"]>({
      apiVersion: API_VERSION,
      kind: SANDBOX_KIND,
      metadata: {
        name: r.name,
        namespace: r.namespace,
        labels: r.labels,
        annotations: createdAtAnnotations(o.clock.now()),
        finalizers: [SANDBOX_FINALIZER],
      },
      spec: r.spec,
      status: pending(),
    });
  } catch (err) {
    if (!isFsbError(err, ErrorCode.AlreadyExists)) throw apiErrorOfStore(err, "recording the sandbox");
    return existing();
  }
  try {
    return await follow(o, r, stored);
  } catch (err) {
    // It could not start: undo the create, and say why.
    await o.store.delete(SANDBOX_KIND, r.namespace, r.name).catch(() => {});
    o.enqueue(objectKey(r.namespace, r.name));
    throw err;
  }
}

/** What a create following its object has seen so far. */
interface Following {
  events: Array<{ sandbox: Sandbox; failure?: FsbError }>;
  /** Room may have appeared since the reconciler last looked. */
  changed: boolean;
  /** The latest "no room" and the pool's growth then; the create waits only while the pool grows. */
  noRoom?: { err: FsbError; growth: PoolGrowth };
  wake: () => void;
}

async function follow(o: StrongCreateOptions, r: StrongCreateRequest, stored: Sandbox): Promise<Sandbox> {
  const key = objectKey(r.namespace, r.name);
  const pool = r.spec.poolRef || DEFAULT_POOL;
  const started = o.clock.now();
  const overallAt = r.deadline.fromClient ? r.deadline.at : started + STRONG_CREATE_TIMEOUT_MS;
  const f: Following = { events: [], changed: false, wake: () => {} };
  let placed = false;
  const stopStatus = o.waiters.subscribe(stored.metadata.uid, (sandbox, failure) => {
    f.events.push({ sandbox, ...(failure ? { failure } : {}) });
    f.wake();
  });
  const stopChanges = o.changes.subscribe(() => {
    f.changed = true;
    f.wake();
  });
  o.enqueue(key);
  try {
    for (;;) {
      const running = takeEvents(o, r, pool, f);
      if (running) {
        placed = true;
        return running;
      }
      if (f.changed) {
        // Room may have appeared: the reconciler tries again now, not at its next retry.
        f.changed = false;
        o.enqueue(key);
      }
      const now = o.clock.now();
      const limit = f.noRoom ? Math.min(r.deadline.at, overallAt) : overallAt;
      if (r.signal?.aborted)
        throw new FsbError(ErrorCode.Cancelled, "the client went away before the sandbox started");
      if (now >= limit) {
        const current = await timedOut(o, r, pool, f, now - started);
        placed = true;
        return current;
      }
      await sleepUntilWoken(o, r, f, limit - now);
    }
  } finally {
    stopStatus();
    stopChanges();
    if (f.noRoom) o.pools?.settle(r.namespace, pool, r.name, placed);
  }
}

/**
 * Reads the statuses heard so far: answers the running sandbox, throws for one that settled without
 * running (or has no room and a pool that does not grow), and otherwise notes "no room".
 */
function takeEvents(
  o: StrongCreateOptions,
  r: StrongCreateRequest,
  pool: string,
  f: Following,
): Sandbox | undefined {
  for (let event = f.events.shift(); event; event = f.events.shift()) {
    const outcome = settledOutcome(event.sandbox);
    if (outcome === "running") return event.sandbox;
    if (outcome === "failed" || outcome === "createFailed" || outcome === "refused")
      throw failureOf(event.sandbox, event.failure);
    if (outcome !== "noRoom") continue;
    const err = failureOf(event.sandbox, event.failure);
    if (imageGrowthCannotBring(err, o.pools, r.namespace, pool)) throw err;
    const growth = o.pools?.needRoom(r.namespace, pool, r.name) ?? ({ kind: "absent" } as const);
    f.noRoom = { err, growth };
    // Not growing, and no room has appeared since: that is the answer.
    if (!mayGetRoom(growth) && !f.changed) throw noRoomError(err, pool, growth);
  }
  return undefined;
}

/** The deadline passed: the sandbox if it runs after all, else the error that says why not. */
async function timedOut(
  o: StrongCreateOptions,
  r: StrongCreateRequest,
  pool: string,
  f: Following,
  waitedMs: number,
): Promise<Sandbox> {
  if (f.noRoom) {
    throw noRoomError(f.noRoom.err, pool, f.noRoom.growth, {
      ms: waitedMs,
      fromClient: r.deadline.fromClient,
    });
  }
  const current = await o.store
    .get<SandboxSpec, Sandbox["status"]>(SANDBOX_KIND, r.namespace, r.name)
    .catch((err: unknown) => {
      throw apiErrorOfStore(err, "reading the sandbox");
    });
  if (settledOutcome(current) === "running") return current;
  throw new FsbError(
    ErrorCode.DeadlineExceeded,
    `sandbox did not start within ${(waitedMs / 1000).toFixed(1)} s (phase ${current.status?.phase})`,
  );
}

/** Waits for a status, a change of room, the client going away, or `ms`, whichever comes first. */
function sleepUntilWoken(
  o: StrongCreateOptions,
  r: StrongCreateRequest,
  f: Following,
  ms: number,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = o.clock.setTimer(done, ms);
    r.signal?.addEventListener("abort", done, { once: true });
    f.wake = done;
    function done() {
      timer.cancel();
      r.signal?.removeEventListener("abort", done);
      f.wake = () => {};
      resolve();
    }
  });
}

/**
 * The error a strong create answers with when its sandbox settled without running: the create's
 * own error when the reconciler passed it on, else one rebuilt from the conditions.
 */
export function failureOf(sandbox: Sandbox, failure?: FsbError): FsbError {
  if (failure) return failure;
  const scheduled = condition(sandbox.status, SandboxCondition.Scheduled);
  if (scheduled?.status === "False") {
    const unschedulable = unschedulableError(scheduled.reason, scheduled.message);
    if (unschedulable) return unschedulable;
    if (scheduled.reason === SandboxReason.PortInUse) {
      const port = /^(exposedPorts\[\d+\]): /.exec(scheduled.message);
      return port
        ? new FsbError(ErrorCode.FailedPrecondition, scheduled.message.slice(port[0].length), {
            field: port[1]!,
          })
        : new FsbError(ErrorCode.FailedPrecondition, scheduled.message);
    }
    if (scheduled.reason === SandboxReason.AgentCreateFailed)
      return new FsbError(ErrorCode.Unavailable, scheduled.message);
  }
  const ready = condition(sandbox.status, SandboxCondition.Ready);
  const message = (ready?.message || `sandbox ended in phase ${sandbox.status?.phase}`).replace(
    /^sandbox\./,
    "",
  );
  // A condition has no slot for a field, so the agent's error is stored as its `field: message`
  // text; the field is taken back from there so that it reaches the client as data again.
  const named = /^(command|image|args|workingDir): /.exec(message);
  if (named) {
    return new FsbError(ErrorCode.InvalidArgument, message.slice(named[0].length), { field: named[1]! });
  }
  const aboutField = /^(command|image|args|workingDir)\b/.test(message);
  return new FsbError(aboutField ? ErrorCode.InvalidArgument : ErrorCode.FailedPrecondition, message);
}

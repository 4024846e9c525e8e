/** Strong mode's create (design §7): write the Sandbox Pending, let the reconciler place and start it, answer once it runs. */
import {
  API_VERSION,
  DEFAULT_POOL,
  ErrorCode,
  FsbError,
  isFsbError,
  objectKey,
  SANDBOX_FINALIZER,
  type Sandbox,
  SandboxCondition,
  SandboxPhase,
  SandboxReason,
  type SandboxSpec,
} from "@fast-sandbox/api";
import type { ChangeSignal } from "../core/change-signal.ts";
import type { Clock } from "../kube/clock.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { apiErrorOfStore } from "./create-failure.ts";
import type { PoolGrowth, PoolRoom } from "./pool/pool-growth.ts";
import { type CreateDeadline, noRoomError } from "./room-wait.ts";
import { SANDBOX_KIND } from "./sandbox-reconciler.ts";
import type { StatusWaiters } from "./status-waiters.ts";

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

/** Where a strong create stands after one status of its object. */
export type StrongOutcome = "running" | "failed" | "createFailed" | "noRoom" | "pending";

/** Reads a status the reconciler reported (pure). */
export function strongOutcome(sandbox: Sandbox): StrongOutcome {
  const phase = sandbox.status?.phase;
  if (phase === SandboxPhase.Running) return "running";
  if (phase === SandboxPhase.Failed || phase === SandboxPhase.Expired) return "failed";
  if (phase !== SandboxPhase.Pending) return "pending";
  const scheduled = sandbox.status?.conditions?.find((c) => c.type === SandboxCondition.Scheduled);
  if (scheduled?.status !== "False") return "pending";
  if (scheduled.reason === SandboxReason.NoCapacity || scheduled.reason === SandboxReason.ImageNotCached)
    return "noRoom";
  return scheduled.reason === SandboxReason.AgentCreateFailed ? "createFailed" : "pending";
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
      metadata: { name: r.name, namespace: r.namespace, labels: r.labels, finalizers: [SANDBOX_FINALIZER] },
      spec: r.spec,
      status: { phase: SandboxPhase.Pending },
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

async function follow(o: StrongCreateOptions, r: StrongCreateRequest, stored: Sandbox): Promise<Sandbox> {
  const key = objectKey(r.namespace, r.name);
  const pool = r.spec.poolRef || DEFAULT_POOL;
  const started = o.clock.now();
  const overallAt = r.deadline.fromClient ? r.deadline.at : started + STRONG_CREATE_TIMEOUT_MS;
  const events: Array<{ sandbox: Sandbox; failure?: FsbError }> = [];
  let wake = () => {};
  let changed = false;
  let placed = false;
  let noRoom: { err: FsbError; growth: PoolGrowth } | undefined;
  const stopStatus = o.waiters.subscribe(stored.metadata.uid, (sandbox, failure) => {
    events.push({ sandbox, ...(failure ? { failure } : {}) });
    wake();
  });
  const stopChanges = o.changes.subscribe(() => {
    changed = true;
    wake();
  });
  o.enqueue(key);
  try {
    for (;;) {
      for (let event = events.shift(); event; event = events.shift()) {
        const outcome = strongOutcome(event.sandbox);
        if (outcome === "running") {
          placed = true;
          return event.sandbox;
        }
        if (outcome === "failed" || outcome === "createFailed") throw failureOf(event.sandbox, event.failure);
        if (outcome !== "noRoom") continue;
        const err = failureOf(event.sandbox);
        const growth = o.pools?.needRoom(r.namespace, pool, r.name) ?? ({ kind: "absent" } as const);
        noRoom = { err, growth };
        // Not growing, and no room has appeared since: that is the answer.
        if (growth.kind !== "growing" && !changed) throw noRoomError(err, pool, growth);
      }
      if (changed) {
        // Room may have appeared: the reconciler tries again now, not at its next retry.
        changed = false;
        o.enqueue(key);
      }
      const now = o.clock.now();
      const limit = noRoom ? Math.min(r.deadline.at, overallAt) : overallAt;
      if (r.signal?.aborted)
        throw new FsbError(ErrorCode.Cancelled, "the client went away before the sandbox started");
      if (now >= limit) {
        if (noRoom) {
          throw noRoomError(noRoom.err, pool, noRoom.growth, {
            ms: now - started,
            fromClient: r.deadline.fromClient,
          });
        }
        const current = await o.store
          .get<SandboxSpec, Sandbox["status"]>(SANDBOX_KIND, r.namespace, r.name)
          .catch((err: unknown) => {
            throw apiErrorOfStore(err, "reading the sandbox");
          });
        if (strongOutcome(current) === "running") {
          placed = true;
          return current;
        }
        throw new FsbError(
          ErrorCode.DeadlineExceeded,
          `sandbox did not start within ${((now - started) / 1000).toFixed(1)} s (phase ${current.status?.phase})`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = o.clock.setTimer(done, limit - now);
        r.signal?.addEventListener("abort", done, { once: true });
        wake = done;
        function done() {
          timer.cancel();
          r.signal?.removeEventListener("abort", done);
          wake = () => {};
          resolve();
        }
      });
    }
  } finally {
    stopStatus();
    stopChanges();
    if (noRoom) o.pools?.settle(r.namespace, pool, r.name, placed);
  }
}

/**
 * The error a strong create answers with when its sandbox settled without running: the create's
 * own error when the reconciler passed it on, else one rebuilt from the conditions.
 */
export function failureOf(sandbox: Sandbox, failure?: FsbError): FsbError {
  if (failure) return failure;
  const conditions = sandbox.status?.conditions ?? [];
  const scheduled = conditions.find((c) => c.type === SandboxCondition.Scheduled);
  if (scheduled?.status === "False") {
    if (scheduled.reason === SandboxReason.NoCapacity)
      return new FsbError(ErrorCode.ResourceExhausted, scheduled.message);
    if (scheduled.reason === SandboxReason.ImageNotCached)
      return new FsbError(ErrorCode.FailedPrecondition, scheduled.message.replace(/^image: /, ""), {
        field: "image",
      });
    if (scheduled.reason === SandboxReason.AgentCreateFailed)
      return new FsbError(ErrorCode.Unavailable, scheduled.message);
  }
  const ready = conditions.find((c) => c.type === SandboxCondition.Ready);
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

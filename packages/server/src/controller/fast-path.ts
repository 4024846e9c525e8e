/** The Fast-Path service in domain terms: create (fast or strong), get, list, update, delete, watch, logs. */
import { randomBytes } from "node:crypto";
import {
  type ConsistencyMode,
  ErrorCode,
  FsbError,
  GRACE_ANNOTATION,
  isFsbError,
  labelPrefix,
  normalizeSandboxSpec,
  objectKey,
  SANDBOX_KIND,
  type Sandbox,
  type SandboxSpec,
  sameSandboxSpec,
  validateDnsLabel,
  validateFutureExpireTime,
  validateLabelLimits,
  validateLabels,
  validateSandboxName,
  validateSandboxSpec,
} from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { ChangeSignal } from "../core/change-signal.ts";
import { type Clock, systemClock } from "../core/clock.ts";
import type { EventRecorder } from "../core/event-recorder.ts";
import { labelMatcher } from "../store/label-selector.ts";
import type { ObjectStore } from "../store/object-store.ts";
import type { AgentMonitor } from "./agent-monitor.ts";
import type { ControllerMetrics } from "./controller-metrics.ts";
import { apiErrorOfStore } from "./create-failure.ts";
import type { PoolRoom } from "./pool/pool-growth.ts";
import type { PoolCatalog } from "./pool-catalog.ts";
import { checkPoolOf } from "./pool-preconditions.ts";
import type { AgentRegistry } from "./registry/agent-registry.ts";
import { createDeadline } from "./room-wait.ts";
import { FastCreates } from "./sandbox/fast-create.ts";
import type { StatusWaiters } from "./sandbox/status-waiters.ts";
import { createStrong } from "./sandbox/strong-create.ts";
import { refuseUpdateInPhase } from "./sandbox/update-refusals.ts";

/** Writes that lose an optimistic-concurrency race are retried this many times. */
const UPDATE_ATTEMPTS = 5;

/** A create as the API receives it, already out of its wire form. */
export interface CreateSandboxInput {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  spec: SandboxSpec;
  /** Overrides spec.consistencyMode and the server default. */
  consistencyMode?: ConsistencyMode;
}

/** What the call carries besides the request: its deadline and its cancellation. */
export interface CreateCallOptions {
  /** Milliseconds the client gave the call (its gRPC/Connect timeout); absent when it set none. */
  timeoutMs?: number;
  /** Aborts when the client goes away (or its deadline passes). */
  signal?: AbortSignal;
}

/** An update: only these fields can change after create. */
export interface UpdateSandboxInput {
  name: string;
  namespace?: string;
  /** Merged into the labels; an empty value removes the label. */
  labels?: Record<string, string>;
  expireTime?: string;
  clearExpireTime?: boolean;
  failurePolicy?: SandboxSpec["failurePolicy"];
  recoveryTimeoutSeconds?: number;
  reset?: boolean;
}

export interface FastPathOptions {
  store: ObjectStore;
  registry: AgentRegistry;
  monitor: AgentMonitor;
  waiters: StatusWaiters;
  /** Hands a key to the Sandbox reconciler. */
  enqueue: (key: string) => void;
  logger: Logger;
  metrics: ControllerMetrics;
  defaultMode: ConsistencyMode;
  /** A fast create whose object is not stored within this time is undone. */
  orphanTimeoutMs: number;
  /**
   * Whether a fast create answers only once its object is stored. The embedded store writes in a
   * fraction of a millisecond, so a record that survives a controller crash costs standalone
   * nothing noticeable; the Kubernetes store's write is an API round trip, which fast mode exists to
   * keep off the reply (docs/api.md, "Consistency modes"), so there a crash right after the reply can still undo a create.
   */
  recordBeforeReply?: boolean;
  /** The pools' growth, and where a create waiting for room counts as demand; absent when nothing launches agents. */
  pools?: PoolRoom;
  /** Which pools exist: a create naming none is refused before it looks for room. */
  poolCatalog: PoolCatalog;
  /** Fires when room may have appeared (the registry's changes, launches moving). */
  changes: ChangeSignal;
  clock?: Clock;
  /** Where fast creates' Scheduled and Started events go (strong creates' come from the reconciler). */
  events?: EventRecorder;
}

export type WatchEventKind = "ADDED" | "MODIFIED" | "DELETED" | "SYNCED";

/**
 * Fast mode answers as soon as the agent has started the container and writes the object after
 * (docs/api.md, "Consistency modes"), or just before the reply when that write is cheap (`recordBeforeReply`); strong mode writes the object first and answers when the reconciler reports Running.
 * Reads see fast creates whose write is still in flight, so a client can read its own writes.
 */
export class FastPath {
  readonly #o: FastPathOptions;
  /** Fast creates in flight: reads see them, and other calls on their name wait for them. */
  readonly #fast: FastCreates;
  readonly #clock: Clock;

  constructor(options: FastPathOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#fast = new FastCreates({
      ...options,
      recordBeforeReply: options.recordBeforeReply === true,
      pools: options.pools,
      clock: this.#clock,
    });
  }

  #now(): number {
    return this.#clock.now();
  }

  /** Sandbox ids of fast creates whose object is not stored yet (the orphan collector spares them). */
  pendingSandboxIds(): Set<string> {
    return this.#fast.pendingSandboxIds();
  }

  /**
   * Creates a sandbox. While its pool is full but really adding agents, the create waits for room
   * until the call's deadline (`call.timeoutMs`, else DEFAULT_ROOM_WAIT_MS); see room-wait.ts.
   */
  async create(
    input: CreateSandboxInput,
    call: CreateCallOptions = {},
  ): Promise<{ sandbox: Sandbox; created: boolean }> {
    const started = performance.now();
    const deadline = createDeadline(this.#now(), call.timeoutMs);
    const namespace = validateDnsLabel(input.namespace || "default", "namespace");
    const name = input.name ? validateSandboxName(input.name) : `sb-${randomBytes(4).toString("hex")}`;
    const labels = validateLabels(input.labels ?? {});
    const spec = normalizeSandboxSpec(validateSandboxSpec(input.spec, ""));
    if (spec.expireTime) validateFutureExpireTime(spec.expireTime, this.#now());
    const mode = input.consistencyMode ?? spec.consistencyMode ?? this.#o.defaultMode;
    spec.consistencyMode = mode;
    let result = "error";
    const key = objectKey(namespace, name);
    try {
      await this.#fast.placed(key);
      const existing = await this.#existing(namespace, name);
      if (existing) {
        const same = await this.#sameOrConflict(existing, spec);
        result = "existing";
        return { sandbox: same, created: false };
      }
      await checkPoolOf(this.#o.poolCatalog, namespace, spec);
      const target = { namespace, name, labels, spec };
      const sandbox =
        mode === "fast"
          ? await this.#fast.create(target, deadline, call.signal)
          : await createStrong(
              {
                store: this.#o.store,
                waiters: this.#o.waiters,
                enqueue: this.#o.enqueue,
                pools: this.#o.pools,
                changes: this.#o.changes,
                clock: this.#clock,
              },
              { ...target, deadline, ...(call.signal ? { signal: call.signal } : {}) },
              async () => this.#sameOrConflict(await this.get(namespace, name), spec),
            );
      result = "ok";
      return { sandbox, created: true };
    } catch (err) {
      if (isFsbError(err, ErrorCode.ResourceExhausted)) result = "no_capacity";
      else if (isFsbError(err, ErrorCode.AlreadyExists)) result = "conflict";
      throw err;
    } finally {
      this.#o.metrics.observeCreate(mode, result, (performance.now() - started) / 1000);
    }
  }

  async get(namespace: string, name: string): Promise<Sandbox> {
    const found = await this.#existing(validateDnsLabel(namespace || "default", "namespace"), name);
    if (!found) throw new FsbError(ErrorCode.NotFound, `sandbox ${namespace || "default"}/${name} not found`);
    return found;
  }

  /** Sandboxes of a namespace ("*" for all), optionally filtered by a label selector. */
  async list(namespace: string, labelSelector = ""): Promise<Sandbox[]> {
    const all = namespace === "*";
    const ns = all ? undefined : validateDnsLabel(namespace || "default", "namespace");
    const matches = labelMatcher(labelSelector);
    const { items } = await this.#o.store.list<SandboxSpec, Sandbox["status"]>(SANDBOX_KIND, {
      ...(ns ? { namespace: ns } : {}),
      ...(labelSelector ? { labelSelector } : {}),
    });
    const seen = new Set(items.map((s) => objectKey(s.metadata.namespace, s.metadata.name)));
    for (const [key, s] of this.#fast.pendingObjects()) {
      if (!seen.has(key) && (all || s.metadata.namespace === ns) && matches(s.metadata.labels)) items.push(s);
    }
    return items.sort((a, b) => (a.metadata.creationTimestamp < b.metadata.creationTimestamp ? -1 : 1));
  }

  async update(input: UpdateSandboxInput): Promise<Sandbox> {
    const namespace = validateDnsLabel(input.namespace || "default", "namespace");
    await this.#fast.settled(objectKey(namespace, input.name));
    if (input.labels)
      validateLabels(Object.fromEntries(Object.entries(input.labels).filter(([, v]) => v !== "")));
    if (input.expireTime && !input.clearExpireTime) validateFutureExpireTime(input.expireTime, this.#now());
    const updated = await this.#retryConflicts(async () => {
      const current = await this.get(namespace, input.name);
      refuseUpdateInPhase(current, input);
      const spec: SandboxSpec = { ...current.spec };
      if (input.clearExpireTime) delete spec.expireTime;
      else if (input.expireTime) spec.expireTime = input.expireTime;
      if (input.failurePolicy) spec.failurePolicy = input.failurePolicy;
      if (input.recoveryTimeoutSeconds !== undefined)
        spec.recoveryTimeoutSeconds = input.recoveryTimeoutSeconds;
      if (input.reset)
        spec.resetRevision = new Date(Math.max(this.#now(), resetFloor(current))).toISOString();
      const labels = { ...current.metadata.labels };
      for (const [key, value] of Object.entries(input.labels ?? {})) {
        if (value === "") delete labels[key];
        else labels[key] = value;
      }
      validateLabelLimits(userLabels(labels));
      return this.#o.store.update({
        ...current,
        metadata: { ...current.metadata, labels },
        spec: normalizeSandboxSpec(validateSandboxSpec(spec, "")),
      });
    });
    this.#o.enqueue(objectKey(namespace, input.name));
    return updated;
  }

  /** Marks the sandbox for deletion; the reconciler stops the container and then removes the object. */
  async delete(namespace: string, name: string, gracePeriodSeconds?: number): Promise<Sandbox> {
    const ns = validateDnsLabel(namespace || "default", "namespace");
    const key = objectKey(ns, name);
    await this.#fast.settled(key);
    if (gracePeriodSeconds !== undefined) {
      await this.#retryConflicts(async () => {
        const current = await this.get(ns, name);
        if (current.metadata.deletionTimestamp) return current;
        const annotations = {
          ...current.metadata.annotations,
          [GRACE_ANNOTATION]: String(gracePeriodSeconds),
        };
        return this.#o.store.update({ ...current, metadata: { ...current.metadata, annotations } });
      });
    }
    try {
      const deleted = await this.#o.store.delete<SandboxSpec, Sandbox["status"]>(SANDBOX_KIND, ns, name);
      this.#o.enqueue(key);
      return deleted;
    } catch (err) {
      if (isFsbError(err, ErrorCode.NotFound))
        throw new FsbError(ErrorCode.NotFound, `sandbox ${key} not found`);
      throw err;
    }
  }

  /** The current list as ADDED events, a SYNCED marker, then every change until `signal` aborts. */
  async *watch(
    namespace: string,
    labelSelector: string,
    signal: AbortSignal,
  ): AsyncGenerator<{ type: WatchEventKind; sandbox?: Sandbox }> {
    const all = namespace === "*";
    const ns = all ? undefined : validateDnsLabel(namespace || "default", "namespace");
    const scope = { ...(ns ? { namespace: ns } : {}), ...(labelSelector ? { labelSelector } : {}) };
    let list = await this.#o.store.list<SandboxSpec, Sandbox["status"]>(SANDBOX_KIND, scope);
    for (const sandbox of list.items) yield { type: "ADDED", sandbox };
    yield { type: "SYNCED" };
    for (;;) {
      try {
        for await (const event of this.#o.store.watch<SandboxSpec, Sandbox["status"]>(
          SANDBOX_KIND,
          { ...scope, resourceVersion: list.resourceVersion },
          signal,
        )) {
          yield { type: event.type, sandbox: event.object };
        }
        return;
      } catch (err) {
        // Fell behind the store's history: start over from a fresh list, as a Kubernetes client would.
        if (!isFsbError(err, ErrorCode.OutOfRange) || signal.aborted) throw err;
        list = await this.#o.store.list(SANDBOX_KIND, scope);
        for (const sandbox of list.items) yield { type: "MODIFIED", sandbox };
      }
    }
  }

  /** The sandbox's output through its agent, so clients never need to reach an agent. */
  async *logs(
    namespace: string,
    name: string,
    options: { follow: boolean; tailLines?: number },
    signal: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    const sandbox = await this.get(namespace, name);
    const { assignedAgent, sandboxID } = sandbox.status ?? {};
    if (!assignedAgent || !sandboxID) {
      throw new FsbError(
        ErrorCode.FailedPrecondition,
        `sandbox ${sandbox.metadata.namespace}/${name} has no container yet (phase ${sandbox.status?.phase ?? "Pending"})`,
      );
    }
    const client = this.#o.monitor.client(assignedAgent);
    if (!client)
      throw new FsbError(ErrorCode.Unavailable, `agent ${assignedAgent} of sandbox ${name} is not reachable`);
    const stream = await client.logs(sandboxID, options.follow, signal, options.tailLines);
    const reader = stream.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  async #existing(namespace: string, name: string): Promise<Sandbox | undefined> {
    const key = objectKey(namespace, name);
    const pending = this.#fast.pending(key);
    if (pending) return pending;
    try {
      return await this.#o.store.get<SandboxSpec, Sandbox["status"]>(SANDBOX_KIND, namespace, name);
    } catch (err) {
      if (isFsbError(err, ErrorCode.NotFound)) return this.#fast.pending(key);
      throw apiErrorOfStore(err, `reading sandbox ${key}`);
    }
  }

  async #sameOrConflict(existing: Sandbox, spec: SandboxSpec): Promise<Sandbox> {
    const key = objectKey(existing.metadata.namespace, existing.metadata.name);
    if (existing.metadata.deletionTimestamp) {
      throw new FsbError(ErrorCode.AlreadyExists, `sandbox ${key} is being deleted; retry once it is gone`);
    }
    if (!sameSandboxSpec(existing.spec, spec)) {
      throw new FsbError(ErrorCode.AlreadyExists, `sandbox ${key} already exists with a different spec`);
    }
    return existing;
  }

  async #retryConflicts<T>(write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        if (!isFsbError(err, ErrorCode.Aborted) || attempt >= UPDATE_ATTEMPTS) throw err;
      }
    }
  }
}

/** A reset must be newer than the last one accepted, even if clocks disagree a little. */
function resetFloor(sandbox: Sandbox): number {
  const accepted = sandbox.status?.acceptedResetRevision
    ? Date.parse(sandbox.status.acceptedResetRevision)
    : 0;
  return Number.isNaN(accepted) ? 0 : accepted + 1000;
}

/** The labels a client set: the limits count these, not the ones Fast Sandbox keeps under its prefix. */
function userLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([key]) => !key.startsWith(labelPrefix)));
}

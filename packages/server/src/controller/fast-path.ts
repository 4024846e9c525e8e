/** The Fast-Path service in domain terms: create (fast or strong), get, list, update, delete, watch, logs. */
import { randomBytes } from "node:crypto";
import {
  API_VERSION,
  type ConsistencyMode,
  DEFAULT_POOL,
  ErrorCode,
  FsbError,
  isFsbError,
  normalizeSandboxSpec,
  objectKey,
  SANDBOX_FINALIZER,
  type Sandbox,
  SandboxPhase,
  SandboxReason,
  type SandboxSpec,
  sameSandboxSpec,
  validateDnsLabel,
  validateLabels,
  validateSandboxName,
  validateSandboxSpec,
} from "@fast-sandbox/api";
import type { Logger } from "pino";
import { labelMatcher } from "../store/label-selector.ts";
import type { ObjectStore } from "../store/object-store.ts";
import type { AgentMonitor } from "./agent-monitor.ts";
import { agentCreateRequest } from "./agent-request.ts";
import { setCondition } from "./conditions.ts";
import type { ControllerMetrics } from "./controller-metrics.ts";
import { persistFastCreate } from "./fast-create-persist.ts";
import { allocateSandbox, type NoCapacityHook } from "./placement.ts";
import type { AgentRegistry } from "./registry/agent-registry.ts";
import { newSandboxId } from "./sandbox-id.ts";
import { GRACE_ANNOTATION, SANDBOX_KIND } from "./sandbox-reconciler.ts";
import type { StatusWaiters } from "./status-waiters.ts";

/** A strong create waits this long for Running before it answers with the current state's error. */
const STRONG_CREATE_TIMEOUT_MS = 60_000;
/** A strong create re-reads its object this often while it waits (a pool scaling writes no status). */
const SETTLED_RECHECK_MS = 1000;
/** Longer than the reconciler's retry of a sandbox without room (1 s), so that retry has happened. */
const NO_CAPACITY_CONFIRM_MS = 1500;
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
  /** Told when a create found its pool full (the pool controller scales on it). */
  onNoCapacity?: NoCapacityHook;
  /** Whether a full pool is about to get room; a strong create waits for it instead of failing. */
  poolWillGrow?: (namespace: string, pool: string) => boolean;
  now?: () => number;
}

interface PendingCreate {
  sandbox: Sandbox;
  /** Settles when the object is stored or the create was undone. */
  settled: Promise<void>;
}

export type WatchEventKind = "ADDED" | "MODIFIED" | "DELETED" | "SYNCED";

/**
 * Fast mode answers as soon as the agent has started the container and writes the object after
 * (design §7); strong mode writes the object first and answers when the reconciler reports Running.
 * Reads see fast creates whose write is still in flight, so a client can read its own writes.
 */
export class FastPath {
  readonly #o: FastPathOptions;
  readonly #pending = new Map<string, PendingCreate>();
  readonly #now: () => number;

  constructor(options: FastPathOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Sandbox ids of fast creates whose object is not stored yet (the orphan collector spares them). */
  pendingSandboxIds(): Set<string> {
    return new Set([...this.#pending.values()].map((p) => p.sandbox.status.sandboxID ?? ""));
  }

  async create(input: CreateSandboxInput): Promise<{ sandbox: Sandbox; created: boolean }> {
    const started = performance.now();
    const namespace = validateDnsLabel(input.namespace || "default", "namespace");
    const name = input.name ? validateSandboxName(input.name) : `sb-${randomBytes(4).toString("hex")}`;
    const labels = validateLabels(input.labels ?? {});
    const spec = normalizeSandboxSpec(validateSandboxSpec(input.spec, ""));
    const mode = input.consistencyMode ?? spec.consistencyMode ?? this.#o.defaultMode;
    spec.consistencyMode = mode;
    let result = "error";
    try {
      const existing = await this.#existing(namespace, name);
      if (existing) {
        const same = await this.#sameOrConflict(existing, spec);
        result = "existing";
        return { sandbox: same, created: false };
      }
      const sandbox =
        mode === "fast"
          ? await this.#createFast(namespace, name, labels, spec)
          : await this.#createStrong(namespace, name, labels, spec);
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
    for (const [key, pending] of this.#pending) {
      const s = pending.sandbox;
      if (!seen.has(key) && (all || s.metadata.namespace === ns) && matches(s.metadata.labels)) items.push(s);
    }
    return items.sort((a, b) => (a.metadata.creationTimestamp < b.metadata.creationTimestamp ? -1 : 1));
  }

  async update(input: UpdateSandboxInput): Promise<Sandbox> {
    const namespace = validateDnsLabel(input.namespace || "default", "namespace");
    await this.#pending.get(objectKey(namespace, input.name))?.settled;
    if (input.labels)
      validateLabels(Object.fromEntries(Object.entries(input.labels).filter(([, v]) => v !== "")));
    const updated = await this.#retryConflicts(async () => {
      const current = await this.get(namespace, input.name);
      if (current.metadata.deletionTimestamp) {
        throw new FsbError(
          ErrorCode.FailedPrecondition,
          `sandbox ${namespace}/${input.name} is being deleted`,
        );
      }
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
    await this.#pending.get(key)?.settled;
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

  async #createFast(
    namespace: string,
    name: string,
    labels: Record<string, string>,
    spec: SandboxSpec,
  ): Promise<Sandbox> {
    const key = objectKey(namespace, name);
    const sandboxId = newSandboxId(name);
    const allocation = allocateSandbox(
      this.#o.registry,
      { namespace, name, spec },
      sandboxId,
      this.#o.onNoCapacity,
    );
    const now = new Date(this.#now());
    const sandbox: Sandbox = {
      apiVersion: API_VERSION,
      kind: SANDBOX_KIND,
      metadata: {
        name,
        namespace,
        uid: "",
        resourceVersion: "",
        generation: 1,
        creationTimestamp: now.toISOString(),
        labels,
        annotations: {},
        finalizers: [SANDBOX_FINALIZER],
      },
      spec,
      status: {
        phase: SandboxPhase.Bound,
        assignedAgent: allocation.agentId,
        nodeName: allocation.nodeName,
        sandboxID: sandboxId,
        endpoints: allocation.ports.map((p) => `${allocation.address}:${p}`),
        observedGeneration: 1,
        conditions: setCondition(
          [],
          {
            type: "Scheduled",
            status: "True",
            reason: SandboxReason.Allocated,
            message: `placed on agent ${allocation.agentId}`,
          },
          now,
        ),
      },
    };
    let settle = () => {};
    this.#pending.set(key, { sandbox, settled: new Promise<void>((r) => (settle = r)) });
    try {
      const client = this.#o.monitor.client(allocation.agentId);
      if (!client) throw new FsbError(ErrorCode.Unavailable, `agent ${allocation.agentId} is not reachable`);
      const created = await client.create(agentCreateRequest(sandbox, sandboxId));
      sandbox.status = {
        ...sandbox.status,
        phase: SandboxPhase.Running,
        startedAt: created.createdAt,
        endpoints: created.endpoints,
        conditions: setCondition(
          sandbox.status.conditions,
          { type: "Ready", status: "True", reason: SandboxReason.Started, message: "" },
          now,
        ),
      };
    } catch (err) {
      this.#o.registry.release(sandboxId);
      this.#pending.delete(key);
      settle();
      throw err;
    }
    // After the reply: node:sqlite writes synchronously, and a WAL checkpoint must not delay the answer.
    setImmediate(() => void this.#persist(sandbox, key, settle));
    return sandbox;
  }

  #persist(sandbox: Sandbox, key: string, settle: () => void): Promise<void> {
    return persistFastCreate({
      store: this.#o.store,
      monitor: this.#o.monitor,
      registry: this.#o.registry,
      logger: this.#o.logger,
      metrics: this.#o.metrics,
      sandbox,
      deadline: this.#now() + this.#o.orphanTimeoutMs,
      now: this.#now,
      onGiveUp: () => this.#pending.delete(key),
    }).then(
      () => {
        this.#pending.delete(key);
        this.#o.enqueue(key);
        settle();
      },
      (err: unknown) => {
        this.#o.logger.error({ err, sandbox: key }, "recording a fast create failed");
        this.#pending.delete(key);
        settle();
      },
    );
  }

  async #createStrong(
    namespace: string,
    name: string,
    labels: Record<string, string>,
    spec: SandboxSpec,
  ): Promise<Sandbox> {
    let stored: Sandbox;
    try {
      stored = await this.#o.store.create<SandboxSpec, Sandbox["status"]>({
        apiVersion: API_VERSION,
        kind: SANDBOX_KIND,
        metadata: { name, namespace, labels, finalizers: [SANDBOX_FINALIZER] },
        spec,
        status: { phase: SandboxPhase.Pending },
      });
    } catch (err) {
      if (!isFsbError(err, ErrorCode.AlreadyExists)) throw err;
      return this.#sameOrConflict(await this.get(namespace, name), spec);
    }
    const key = objectKey(namespace, name);
    const settledPromise = this.#settled(stored);
    this.#o.enqueue(key);
    const settled = await settledPromise;
    if (settled.status?.phase === SandboxPhase.Running) return settled;
    // It could not start: undo the create, so a failed call leaves nothing behind, and say why.
    await this.#o.store.delete(SANDBOX_KIND, namespace, name).catch(() => {});
    this.#o.enqueue(key);
    throw failureOf(settled);
  }

  /**
   * Resolves when a strong create's object is Running, Failed, or stuck without capacity in a pool
   * that is not growing. While the pool adds agents the sandbox stays Pending without a new status
   * write, so the wait also looks again every second.
   */
  async #settled(stored: Sandbox): Promise<Sandbox> {
    const { namespace, name } = stored.metadata;
    const pool = stored.spec.poolRef || DEFAULT_POOL;
    // A NoCapacity written while agents were still coming up may be stale: once the pool stops
    // growing, the answer waits for one more reconcile pass to try the new agents.
    let stuckSince: number | undefined;
    const done = (s: Sandbox) => {
      const phase = s.status?.phase;
      if (phase === SandboxPhase.Running || phase === SandboxPhase.Failed || phase === SandboxPhase.Expired)
        return true;
      const scheduled = s.status?.conditions?.find((c) => c.type === "Scheduled");
      const noRoom =
        phase === SandboxPhase.Pending &&
        scheduled?.status === "False" &&
        scheduled.reason === SandboxReason.NoCapacity;
      if (!noRoom) return false;
      if (!this.#o.poolWillGrow) return true;
      if (this.#o.poolWillGrow(namespace, pool)) {
        stuckSince = undefined;
        return false;
      }
      stuckSince ??= this.#now();
      return this.#now() - stuckSince >= NO_CAPACITY_CONFIRM_MS;
    };
    const deadline = this.#now() + STRONG_CREATE_TIMEOUT_MS;
    for (;;) {
      const left = deadline - this.#now();
      try {
        return await this.#o.waiters.wait(
          stored.metadata.uid,
          done,
          AbortSignal.timeout(Math.max(1, Math.min(left, SETTLED_RECHECK_MS))),
        );
      } catch {
        const current = await this.#o.store.get<SandboxSpec, Sandbox["status"]>(
          SANDBOX_KIND,
          namespace,
          name,
        );
        if (done(current)) return current;
        if (this.#now() >= deadline) {
          throw new FsbError(
            ErrorCode.DeadlineExceeded,
            `sandbox did not start within ${STRONG_CREATE_TIMEOUT_MS / 1000} s (phase ${current.status?.phase})`,
          );
        }
      }
    }
  }

  async #existing(namespace: string, name: string): Promise<Sandbox | undefined> {
    const key = objectKey(namespace, name);
    const pending = this.#pending.get(key);
    if (pending) return pending.sandbox;
    try {
      return await this.#o.store.get<SandboxSpec, Sandbox["status"]>(SANDBOX_KIND, namespace, name);
    } catch (err) {
      if (isFsbError(err, ErrorCode.NotFound)) return this.#pending.get(key)?.sandbox;
      throw err;
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

/** The error a strong create answers with when its sandbox settled without running. */
function failureOf(sandbox: Sandbox): FsbError {
  const conditions = sandbox.status?.conditions ?? [];
  const scheduled = conditions.find((c) => c.type === "Scheduled");
  if (scheduled?.reason === SandboxReason.NoCapacity)
    return new FsbError(ErrorCode.ResourceExhausted, scheduled.message);
  const ready = conditions.find((c) => c.type === "Ready");
  const message = ready?.message || `sandbox ended in phase ${sandbox.status?.phase}`;
  const field = /^(sandbox\.)?(command|image|args|workingDir)\b/.exec(message)?.[2];
  return new FsbError(
    field ? ErrorCode.InvalidArgument : ErrorCode.FailedPrecondition,
    message.replace(/^sandbox\./, ""),
  );
}

/** A reset must be newer than the last one accepted, even if clocks disagree a little. */
function resetFloor(sandbox: Sandbox): number {
  const accepted = sandbox.status?.acceptedResetRevision
    ? Date.parse(sandbox.status.acceptedResetRevision)
    : 0;
  return Number.isNaN(accepted) ? 0 : accepted + 1000;
}

/** The pool operations behind SandboxPoolService: apply, get, list, delete, each validated at the door. */
import {
  API_VERSION,
  canonicalJson,
  ErrorCode,
  FsbError,
  invalidArgument,
  isFsbError,
  isQualifiedKey,
  labelPrefix,
  POOL_KIND,
  type SandboxPool,
  type SandboxPoolSpec,
  validateLabels,
  validatePoolSpec,
  validateSandboxName,
} from "@fast-sandbox/api";
import type { ObjectStore } from "../../store/object-store.ts";
import type { AgentRegistry } from "../registry/agent-registry.ts";
import type { AgentLauncher, LaunchedAgentState } from "./agent-launcher.ts";
import { CONTAINERD_NAMESPACE_ANNOTATION } from "./local-agent-launcher.ts";

/** One agent of a pool, live. */
export interface PoolAgentView {
  id: string;
  node: string;
  healthy: boolean;
  draining: boolean;
  capacity: number;
  allocated: number;
  prewarmReady: number;
  launchState: LaunchedAgentState | undefined;
}

export interface PoolView {
  pool: SandboxPool;
  agents: PoolAgentView[];
}

export interface ApplyPoolInput {
  namespace: string;
  name: string;
  spec: unknown;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface PoolApiOptions {
  store: ObjectStore;
  registry: AgentRegistry;
  /** Absent when this controller launches no agents (they all register themselves). */
  launcher: AgentLauncher | undefined;
  /** Asks the pool controller to look at a pool now. */
  enqueue: (namespace: string, name: string) => void;
}

/** Annotation keys under our own prefix that users may set on a pool. */
const USER_ANNOTATIONS = new Set([CONTAINERD_NAMESPACE_ANNOTATION]);
/** Kubernetes' limit on all of an object's annotations together. */
const MAX_ANNOTATION_BYTES = 256 * 1024;

function validateAnnotations(annotations: Record<string, string>): Record<string, string> {
  let bytes = 0;
  for (const [key, value] of Object.entries(annotations)) {
    if (!isQualifiedKey(key)) {
      throw invalidArgument(`annotations[${JSON.stringify(key)}]`, "must be [prefix/]name like a label key");
    }
    if (key.startsWith(labelPrefix) && !USER_ANNOTATIONS.has(key)) {
      throw invalidArgument(`annotations[${JSON.stringify(key)}]`, `the ${labelPrefix} prefix is reserved`);
    }
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (bytes > MAX_ANNOTATION_BYTES)
    throw invalidArgument("annotations", `must total at most ${MAX_ANNOTATION_BYTES} bytes`);
  return { ...annotations };
}

/** Write conflicts (of an apply or a delete) are retried this often before the caller sees ABORTED. */
const APPLY_ATTEMPTS = 3;

export class PoolApi {
  readonly #o: PoolApiOptions;

  constructor(options: PoolApiOptions) {
    this.#o = options;
  }

  /** Creates the pool or replaces its spec and labels, like `kubectl apply`. */
  async apply(input: ApplyPoolInput): Promise<{ pool: PoolView; created: boolean; changed: boolean }> {
    const namespace = validateSandboxName(input.namespace || "default", "namespace");
    const name = validateSandboxName(input.name, "name");
    const labels = validateLabels(input.labels ?? {});
    const annotations = validateAnnotations(input.annotations ?? {});
    const spec = validatePoolSpec(input.spec);
    for (let attempt = 1; ; attempt++) {
      const existing = await this.#find(namespace, name);
      try {
        if (!existing) {
          const pool = await this.#o.store.create<SandboxPoolSpec, SandboxPool["status"]>({
            apiVersion: API_VERSION,
            kind: POOL_KIND,
            metadata: { name, namespace, labels, annotations },
            spec,
          });
          this.#o.enqueue(namespace, name);
          return { pool: this.#view(pool), created: true, changed: true };
        }
        if (existing.metadata.deletionTimestamp) {
          throw new FsbError(ErrorCode.FailedPrecondition, `pool ${namespace}/${name} is being deleted`, {
            field: "name",
          });
        }
        const unchanged =
          canonicalJson(validatePoolSpec(existing.spec)) === canonicalJson(spec) &&
          canonicalJson(existing.metadata.labels) === canonicalJson(labels) &&
          canonicalJson(existing.metadata.annotations) === canonicalJson(annotations);
        if (unchanged) return { pool: this.#view(existing), created: false, changed: false };
        const pool = await this.#o.store.update({
          ...existing,
          spec,
          metadata: { ...existing.metadata, labels, annotations },
        });
        this.#o.enqueue(namespace, name);
        return { pool: this.#view(pool), created: false, changed: true };
      } catch (err) {
        const raced =
          err instanceof FsbError && (err.code === ErrorCode.Aborted || err.code === ErrorCode.AlreadyExists);
        if (!raced || attempt >= APPLY_ATTEMPTS) throw err;
      }
    }
  }

  async get(namespace: string, name: string): Promise<PoolView> {
    const ns = validateSandboxName(namespace || "default", "namespace");
    const pool = await this.#o.store.get<SandboxPoolSpec, SandboxPool["status"]>(
      POOL_KIND,
      ns,
      validateSandboxName(name, "name"),
    );
    return this.#view(pool);
  }

  async list(namespace: string | undefined): Promise<PoolView[]> {
    const options = namespace === undefined ? {} : { namespace: validateSandboxName(namespace, "namespace") };
    const { items } = await this.#o.store.list<SandboxPoolSpec, SandboxPool["status"]>(POOL_KIND, options);
    return items
      .sort((a, b) =>
        `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
          `${b.metadata.namespace}/${b.metadata.name}`,
        ),
      )
      .map((p) => this.#view(p));
  }

  /**
   * Deletes the pool; its agents drain and go once empty. While they still run sandboxes this is
   * FAILED_PRECONDITION unless `force`: removing a pool must not look like it kills sandboxes.
   */
  async delete(namespace: string, name: string, force: boolean): Promise<void> {
    // The delete is conditional on the version read, and the pool controller writes the status
    // often, so a conflict is re-read and re-checked rather than shown to the caller.
    for (let attempt = 1; ; attempt++) {
      const view = await this.get(namespace, name);
      const busy = view.agents.reduce((n, a) => n + a.allocated, 0);
      if (busy > 0 && !force) {
        throw new FsbError(
          ErrorCode.FailedPrecondition,
          `pool ${view.pool.metadata.namespace}/${view.pool.metadata.name} still runs ${busy} sandbox(es); ` +
            "delete them first, or force: its agents then stop as their sandboxes go",
          { field: "force" },
        );
      }
      try {
        await this.#o.store.delete(POOL_KIND, view.pool.metadata.namespace, view.pool.metadata.name, {
          resourceVersion: view.pool.metadata.resourceVersion,
        });
      } catch (err) {
        if (!isFsbError(err, ErrorCode.Aborted) || attempt >= APPLY_ATTEMPTS) throw err;
        continue;
      }
      this.#o.enqueue(view.pool.metadata.namespace, view.pool.metadata.name);
      return;
    }
  }

  async #find(namespace: string, name: string): Promise<SandboxPool | undefined> {
    try {
      return await this.#o.store.get<SandboxPoolSpec, SandboxPool["status"]>(POOL_KIND, namespace, name);
    } catch (err) {
      if (err instanceof FsbError && err.code === ErrorCode.NotFound) return undefined;
      throw err;
    }
  }

  #view(pool: SandboxPool): PoolView {
    const { namespace, name } = pool.metadata;
    const launched = new Map(
      (this.#o.launcher?.agents({ namespace, name }) ?? []).map((a) => [a.agentId, a] as const),
    );
    const agents: PoolAgentView[] = [];
    for (const a of this.#o.registry.agents()) {
      if (a.placeholder || a.pool !== name || a.namespace !== namespace) continue;
      agents.push({
        id: a.id,
        node: a.nodeName,
        healthy: a.healthy,
        draining: a.draining === true,
        capacity: a.capacity,
        allocated: a.allocated,
        prewarmReady: Object.values(a.prewarm ?? {}).reduce((n, r) => n + r, 0),
        launchState: launched.get(a.id)?.state,
      });
      launched.delete(a.id);
    }
    // Launched but not answering yet.
    for (const a of launched.values()) {
      agents.push({
        id: a.agentId,
        node: "",
        healthy: false,
        draining: false,
        capacity: pool.spec.maxSandboxesPerPod ?? 0,
        allocated: 0,
        prewarmReady: 0,
        launchState: a.state,
      });
    }
    agents.sort((a, b) => a.id.localeCompare(b.id));
    return { pool, agents };
  }
}

/** The ObjectStore on the Kubernetes API: our CRDs through client-node, status through the /status subresource. */
import { isDeepStrictEqual } from "node:util";
import {
  ErrorCode,
  FsbError,
  invalidArgument,
  type NewObject,
  type StoredObject,
  toFsbError,
} from "@fast-sandbox/api";
import { CustomObjectsApi, type KubeConfig, Watch } from "@kubernetes/client-node";
import { type Clock, systemClock } from "../core/clock.ts";
import { kubeError } from "../kube/kube-errors.ts";
import type { ListOptions, ListResult, WatchEvent, WatchOptions } from "../kube/list-watch.ts";
import {
  fromKubeObject,
  type KubeObject,
  toKubeCreateBody,
  toKubeStatusBody,
  toKubeUpdateBody,
} from "./kube-object-mapping.ts";
import { checkSameVersion, jsonCopy, requireName, selectorOf } from "./kube-request-checks.ts";
import {
  apiVersionOf,
  collectionPath,
  FSB_KUBE_RESOURCES,
  type KubeResource,
  type KubeResources,
  resourceFor,
} from "./kube-resources.ts";
import { failedWatch, KubeWatch, type WatchOpener } from "./kube-watch.ts";
import type { DeleteOptions, ObjectStore } from "./object-store.ts";
import { parseResourceVersion, prepareCreate } from "./object-writes.ts";

export interface KubeStoreOptions {
  kubeConfig: KubeConfig;
  /** Kinds to custom resources (default: Sandbox and SandboxPool of sandbox.fast.io/v1alpha1). */
  resources?: KubeResources;
  /** Live events a watcher may fall behind before its watch ends with OUT_OF_RANGE (default 10,000). */
  watchBufferLimit?: number;
  /** The field manager named in managedFields (default `fast-sandbox`). */
  fieldManager?: string;
  clock?: Clock;
  /** How watch requests are opened (default client-node's Watch); tests pass a fake. */
  openWatch?: WatchOpener;
}

/** prepareCreate fills in store-owned metadata; here the API server does, so these are never sent. */
const SERVER_OWNED = { uid: "", resourceVersion: "", creationTimestamp: "" };
/** A delete re-reads and retries this often when the object changes between its read and its delete. */
const DELETE_ATTEMPTS = 5;

/**
 * An ObjectStore whose objects are custom resources on a Kubernetes API server. Versions, generation,
 * finalizers, deletion and watches are the API server's own; this class maps them onto the ObjectStore
 * contract:
 *
 * - resourceVersions: the contract wants decimal strings of one store-wide counter. An etcd-backed API
 *   server gives exactly that (etcd's revision) in practice, though Kubernetes calls them opaque; the
 *   store relies on it only where the contract does (callers comparing versions), and itself only
 *   checks them for equality.
 * - update: re-reads the object first, so a stale version is ABORTED without a write, a spec change or
 *   a new finalizer while deleting is FAILED_PRECONDITION (the API server would allow the first and
 *   answer 422 to the second), a write that changes nothing returns the object unchanged, and the PUT
 *   keeps metadata the store does not model (ownerReferences). Status in `obj` is ignored (the main
 *   endpoint ignores it when the status subresource is on).
 * - updateStatus: a PUT on /status carrying only name, namespace, version and status.
 * - create: the API server drops status when the resource has a status subresource (callers write it
 *   with updateStatus afterwards).
 * - A write that removes an object (delete without finalizers, or an update removing the last
 *   finalizer) returns its last stored state, at its last version: the API server does not return the
 *   version of the removal, which only the DELETED event carries.
 * - A watch from "0" starts with the current objects as ADDED events (Kubernetes' "any version").
 */
export class KubeStore implements ObjectStore {
  readonly #api: CustomObjectsApi;
  readonly #resources: KubeResources;
  readonly #bufferLimit: number;
  readonly #fieldManager: string;
  readonly #clock: Clock;
  readonly #openWatch: WatchOpener;
  readonly #watches = new Set<KubeWatch<unknown>>();
  #closed = false;

  constructor(options: KubeStoreOptions) {
    this.#api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#resources = options.resources ?? FSB_KUBE_RESOURCES;
    this.#bufferLimit = options.watchBufferLimit ?? 10_000;
    this.#fieldManager = options.fieldManager ?? "fast-sandbox";
    this.#clock = options.clock ?? systemClock;
    if (options.openWatch) {
      this.#openWatch = options.openWatch;
    } else {
      const watch = new Watch(options.kubeConfig);
      this.#openWatch = (path, query, onEvent, onDone) =>
        watch.watch(path, query, (type, object) => onEvent(type, object), onDone);
    }
  }

  async create<Spec, Status>(obj: NewObject<Spec, Status>): Promise<StoredObject<Spec, Status>> {
    this.#checkOpen();
    const prepared = prepareCreate(obj as NewObject, SERVER_OWNED);
    const resource = resourceFor(this.#resources, prepared.kind);
    const { namespace, name } = prepared.metadata;
    const where = `${prepared.kind} ${namespace}/${name}`;
    const raw = await this.#call(`create ${where}`, () =>
      this.#api.createNamespacedCustomObject({
        ...coordinates(resource),
        namespace,
        body: toKubeCreateBody(prepared, resource),
        fieldManager: this.#fieldManager,
      }),
    );
    return fromKubeObject(raw, where);
  }

  async get<Spec, Status>(
    kind: string,
    namespace: string,
    name: string,
  ): Promise<StoredObject<Spec, Status>> {
    this.#checkOpen();
    const resource = resourceFor(this.#resources, kind);
    const where = `${kind} ${address(namespace, name)}`;
    return fromKubeObject(await this.#getRaw(resource, namespace, name, where), where);
  }

  async list<Spec, Status>(
    kind: string,
    options: ListOptions = {},
  ): Promise<ListResult<StoredObject<Spec, Status>>> {
    this.#checkOpen();
    const resource = resourceFor(this.#resources, kind);
    const { namespace } = options;
    const labelSelector = selectorOf(options.labelSelector);
    if (namespace !== undefined) requireName(namespace, "namespace");
    const what = `list ${kind}${namespace === undefined ? "" : ` in ${namespace}`}`;
    const raw = (await this.#call(what, () =>
      namespace === undefined
        ? this.#api.listCustomObjectForAllNamespaces({
            group: resource.group,
            version: resource.version,
            resourcePlural: resource.plural,
            labelSelector,
          })
        : this.#api.listNamespacedCustomObject({ ...coordinates(resource), namespace, labelSelector }),
    )) as { items?: unknown; metadata?: { resourceVersion?: unknown } };
    const resourceVersion = raw?.metadata?.resourceVersion;
    if (!Array.isArray(raw?.items) || typeof resourceVersion !== "string") {
      throw new FsbError(ErrorCode.Internal, `${what}: the API server answered without items or a version`);
    }
    return {
      items: raw.items.map((item) => fromKubeObject<Spec, Status>(item, `${kind} list item`)),
      resourceVersion,
    };
  }

  async update<Spec, Status>(obj: StoredObject<Spec, Status>): Promise<StoredObject<Spec, Status>> {
    this.#checkOpen();
    const { resource, namespace, name, resourceVersion } = this.#target(obj);
    const kind = obj.kind;
    const where = `${kind} ${namespace}/${name}`;
    const wanted = prepareCreate(
      {
        apiVersion: apiVersionOf(resource),
        kind,
        metadata: {
          name,
          namespace,
          labels: obj.metadata.labels,
          annotations: obj.metadata.annotations,
          finalizers: obj.metadata.finalizers,
        },
        spec: obj.spec,
      },
      SERVER_OWNED,
    );
    const currentRaw = (await this.#getRaw(resource, namespace, name, where)) as KubeObject;
    const current = fromKubeObject<Spec, Status>(currentRaw, where);
    checkSameVersion(current, resourceVersion);
    const old = current.metadata;
    const fields = wanted.metadata;
    const specChanged = !isDeepStrictEqual(wanted.spec, current.spec);
    if (old.deletionTimestamp !== undefined) {
      const what = `${where} is being deleted`;
      if (specChanged) {
        throw new FsbError(ErrorCode.FailedPrecondition, `${what}: its spec can no longer change`);
      }
      const added = fields.finalizers.filter((f) => !old.finalizers.includes(f));
      if (added.length > 0) {
        throw new FsbError(
          ErrorCode.FailedPrecondition,
          `${what}: cannot add finalizers ${added.join(", ")}`,
        );
      }
    }
    const unchanged =
      !specChanged &&
      isDeepStrictEqual(fields.labels, old.labels) &&
      isDeepStrictEqual(fields.annotations, old.annotations) &&
      isDeepStrictEqual(fields.finalizers, old.finalizers);
    if (unchanged) return current;
    const raw = await this.#call(`update ${where}`, () =>
      this.#api.replaceNamespacedCustomObject({
        ...coordinates(resource),
        namespace,
        name,
        body: toKubeUpdateBody(currentRaw, wanted.spec, fields),
        fieldManager: this.#fieldManager,
      }),
    );
    return fromKubeObject(raw, where);
  }

  async updateStatus<Spec, Status>(obj: StoredObject<Spec, Status>): Promise<StoredObject<Spec, Status>> {
    this.#checkOpen();
    const { resource, namespace, name } = this.#target(obj);
    const where = `${obj.kind} ${namespace}/${name}`;
    const status = jsonCopy(obj.status, "status");
    const raw = await this.#call(`update status of ${where}`, () =>
      this.#api.replaceNamespacedCustomObjectStatus({
        ...coordinates(resource),
        namespace,
        name,
        body: toKubeStatusBody({ ...(obj as StoredObject), status }, resource),
        fieldManager: this.#fieldManager,
      }),
    );
    return fromKubeObject(raw, where);
  }

  async delete<Spec, Status>(
    kind: string,
    namespace: string,
    name: string,
    options: DeleteOptions = {},
  ): Promise<StoredObject<Spec, Status>> {
    this.#checkOpen();
    const resource = resourceFor(this.#resources, kind);
    const where = `${kind} ${address(namespace, name)}`;
    const precondition = options.resourceVersion;
    if (precondition !== undefined) parseResourceVersion(precondition, "resourceVersion");
    for (let attempt = 1; ; attempt++) {
      const current = fromKubeObject<Spec, Status>(
        await this.#getRaw(resource, namespace, name, where),
        where,
      );
      if (precondition !== undefined) checkSameVersion(current, precondition);
      if (current.metadata.deletionTimestamp !== undefined) return current;
      try {
        // The preconditions make this delete the one of the object just read, or a conflict.
        const answer = (await this.#api.deleteNamespacedCustomObject({
          ...coordinates(resource),
          namespace,
          name,
          body: {
            preconditions: { uid: current.metadata.uid, resourceVersion: current.metadata.resourceVersion },
          },
        })) as KubeObject;
        // Finalizers hold it: the answer is the object, now with its deletionTimestamp. Otherwise the
        // answer is a Status and the object's last state is the one just read.
        return answer?.kind === "Status" ? current : fromKubeObject<Spec, Status>(answer, where);
      } catch (err) {
        const error = kubeError(err, `delete ${where}`);
        const retry =
          error.code === ErrorCode.Aborted && precondition === undefined && attempt < DELETE_ATTEMPTS;
        if (!retry) throw error;
      }
    }
  }

  watch<Spec, Status>(
    kind: string,
    options: WatchOptions,
    signal: AbortSignal,
  ): AsyncIterable<WatchEvent<StoredObject<Spec, Status>>> {
    let resource: KubeResource;
    let labelSelector: string | undefined;
    try {
      this.#checkOpen();
      resource = resourceFor(this.#resources, kind);
      parseResourceVersion(options.resourceVersion, "resourceVersion");
      labelSelector = selectorOf(options.labelSelector);
      if (options.namespace !== undefined) requireName(options.namespace, "namespace");
    } catch (err) {
      return failedWatch(toFsbError(err), signal);
    }
    // The stream closes during construction when the signal is already aborted, so onClose must not
    // reach for `watch` before it exists (it was never registered then).
    let watch: KubeWatch<StoredObject<Spec, Status>> | undefined;
    watch = new KubeWatch({
      open: this.#openWatch,
      path: collectionPath(resource, options.namespace),
      resourceVersion: options.resourceVersion,
      labelSelector,
      signal,
      decode: (raw) => fromKubeObject<Spec, Status>(raw, `${kind} watch event`),
      bufferLimit: this.#bufferLimit,
      clock: this.#clock,
      what: `watch ${kind}`,
      onClose: () => {
        if (watch !== undefined) this.#watches.delete(watch as KubeWatch<unknown>);
      },
    });
    if (!watch.stream.closed) this.#watches.add(watch as KubeWatch<unknown>);
    return watch.stream;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new FsbError(ErrorCode.Unavailable, "the store is closed");
    for (const watch of [...this.#watches]) watch.fail(closed);
    this.#watches.clear();
  }

  #checkOpen(): void {
    if (this.#closed) throw new FsbError(ErrorCode.Unavailable, "the store is closed");
  }

  #target(obj: StoredObject): {
    resource: KubeResource;
    namespace: string;
    name: string;
    resourceVersion: string;
  } {
    if (
      typeof obj !== "object" ||
      obj === null ||
      typeof obj.metadata !== "object" ||
      obj.metadata === null
    ) {
      throw invalidArgument("metadata", "is required");
    }
    const resource = resourceFor(this.#resources, obj.kind);
    const { namespace, name, resourceVersion } = obj.metadata;
    requireName(namespace, "metadata.namespace");
    requireName(name, "metadata.name");
    parseResourceVersion(resourceVersion, "metadata.resourceVersion");
    return { resource, namespace, name, resourceVersion };
  }

  async #getRaw(resource: KubeResource, namespace: string, name: string, where: string): Promise<unknown> {
    requireName(namespace, "namespace");
    requireName(name, "name");
    return this.#call(`get ${where}`, () =>
      this.#api.getNamespacedCustomObject({ ...coordinates(resource), namespace, name }),
    );
  }

  async #call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw kubeError(err, what);
    }
  }
}

function coordinates(resource: KubeResource): { group: string; version: string; plural: string } {
  return { group: resource.group, version: resource.version, plural: resource.plural };
}

function address(namespace: unknown, name: unknown): string {
  return `${String(namespace)}/${String(name)}`;
}

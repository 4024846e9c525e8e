/** Agent Pods on the API server: create and delete them, and list and watch them for an Informer. */

import {
  ErrorCode,
  FsbError,
  invalidArgument,
  isFsbError,
  type StoredObject,
  toFsbError,
} from "@fast-sandbox/api";
import { CoreV1Api, type KubeConfig, type V1Pod, Watch } from "@kubernetes/client-node";
import { type Clock, systemClock } from "../../core/clock.ts";
import { kubeError } from "../../kube/kube-errors.ts";
import type {
  ListOptions,
  ListResult,
  ListWatcher,
  WatchEvent,
  WatchOptions,
} from "../../kube/list-watch.ts";
import { fromKubeObject } from "../../store/kube-object-mapping.ts";
import { selectorOf } from "../../store/kube-request-checks.ts";
import { failedWatch, KubeWatch, type WatchOpener } from "../../store/kube-watch.ts";
import { parseResourceVersion } from "../../store/object-writes.ts";

/** How the launcher changes agent Pods (the writes it needs, nothing more). */
export interface AgentPodApi {
  /** ALREADY_EXISTS if the name is taken. */
  create(pod: V1Pod): Promise<void>;
  /** Deletes with the Pod's own grace period; a Pod already gone is fine. */
  delete(namespace: string, name: string): Promise<void>;
}

export interface KubeAgentPodsOptions {
  clock?: Clock;
  /** Events a watcher may fall behind before its watch ends with OUT_OF_RANGE (default 10,000). */
  watchBufferLimit?: number;
  /** How watch requests are opened (default client-node's Watch). */
  openWatch?: WatchOpener;
}

/**
 * Pods as StoredObjects (kind `Pod`), through CoreV1Api: list and watch (bookmarks and renewals as in
 * the Kubernetes store) so the Informer caches them, and create and delete for the launcher. Lists
 * come back as client-node's typed models; they are turned into plain JSON (Dates into RFC 3339) so
 * listed and watched Pods look the same.
 */
export class KubeAgentPods implements ListWatcher, AgentPodApi {
  readonly #api: CoreV1Api;
  readonly #openWatch: WatchOpener;
  readonly #clock: Clock;
  readonly #bufferLimit: number;

  constructor(kubeConfig: KubeConfig, options: KubeAgentPodsOptions = {}) {
    this.#api = kubeConfig.makeApiClient(CoreV1Api);
    this.#clock = options.clock ?? systemClock;
    this.#bufferLimit = options.watchBufferLimit ?? 10_000;
    if (options.openWatch) {
      this.#openWatch = options.openWatch;
    } else {
      const watch = new Watch(kubeConfig);
      this.#openWatch = (path, query, onEvent, onDone) =>
        watch.watch(path, query, (type, object) => onEvent(type, object), onDone);
    }
  }

  async list<Spec, Status>(
    kind: string,
    options: ListOptions = {},
  ): Promise<ListResult<StoredObject<Spec, Status>>> {
    requirePodKind(kind);
    const { namespace } = options;
    const labelSelector = selectorOf(options.labelSelector);
    let list: { items: V1Pod[]; metadata?: { resourceVersion?: string } };
    try {
      list =
        namespace === undefined
          ? await this.#api.listPodForAllNamespaces({ labelSelector })
          : await this.#api.listNamespacedPod({ namespace, labelSelector });
    } catch (err) {
      throw kubeError(err, `list Pods${namespace === undefined ? "" : ` in ${namespace}`}`);
    }
    const resourceVersion = list.metadata?.resourceVersion;
    if (resourceVersion === undefined) throw new FsbError(ErrorCode.Internal, "a Pod list without a version");
    return { items: list.items.map((pod) => podObject<Spec, Status>(pod)), resourceVersion };
  }

  watch<Spec, Status>(
    kind: string,
    options: WatchOptions,
    signal: AbortSignal,
  ): AsyncIterable<WatchEvent<StoredObject<Spec, Status>>> {
    let labelSelector: string | undefined;
    try {
      requirePodKind(kind);
      parseResourceVersion(options.resourceVersion, "resourceVersion");
      labelSelector = selectorOf(options.labelSelector);
    } catch (err) {
      return failedWatch(toFsbError(err), signal);
    }
    const { namespace } = options;
    return new KubeWatch({
      open: this.#openWatch,
      path:
        namespace === undefined ? "/api/v1/pods" : `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      resourceVersion: options.resourceVersion,
      labelSelector,
      signal,
      decode: (raw) => podObject<Spec, Status>(raw),
      bufferLimit: this.#bufferLimit,
      clock: this.#clock,
      what: "watch Pods",
    }).stream;
  }

  async create(pod: V1Pod): Promise<void> {
    const namespace = pod.metadata?.namespace;
    if (!namespace) throw invalidArgument("metadata.namespace", "is required");
    try {
      await this.#api.createNamespacedPod({ namespace, body: pod });
    } catch (err) {
      throw kubeError(err, `create Pod ${namespace}/${pod.metadata?.name}`);
    }
  }

  async delete(namespace: string, name: string): Promise<void> {
    try {
      await this.#api.deleteNamespacedPod({ namespace, name });
    } catch (err) {
      const error = kubeError(err, `delete Pod ${namespace}/${name}`);
      if (!isFsbError(error, ErrorCode.NotFound)) throw error;
    }
  }
}

/** A Pod (typed model or raw JSON) as a StoredObject; list items carry no apiVersion or kind. */
function podObject<Spec, Status>(pod: unknown): StoredObject<Spec, Status> {
  const plain = JSON.parse(JSON.stringify(pod)) as Record<string, unknown>;
  const name = (plain.metadata as { name?: unknown } | undefined)?.name;
  return fromKubeObject({ apiVersion: "v1", kind: "Pod", ...plain }, `Pod ${String(name)}`);
}

function requirePodKind(kind: string): void {
  if (kind !== "Pod") throw invalidArgument("kind", `${JSON.stringify(kind)}: only Pods are listed here`);
}

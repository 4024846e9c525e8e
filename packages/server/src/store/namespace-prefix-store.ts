/**
 * Test support: an ObjectStore view that gives each test namespaces of its own on a shared backend (a
 * Kubernetes cluster), so the contract suite's fixed names ("ns-a") never meet another run's objects.
 */
import type { NewObject, StoredObject } from "@fast-sandbox/api";
import type { ListOptions, ListResult, WatchEvent, WatchOptions } from "../kube/list-watch.ts";
import type { DeleteOptions, ObjectStore } from "./object-store.ts";

/**
 * Namespace `ns` of the caller is `<prefix>-ns` in `inner`, created on first use through
 * `ensureNamespace`. Lists and watches across all namespaces really span all of `inner`'s namespaces
 * and keep only this view's, so they are exercised as they are, not narrowed to one namespace. An
 * empty or non-string namespace passes through untouched, for the backend to reject.
 */
export class NamespacePrefixStore implements ObjectStore {
  readonly #inner: ObjectStore;
  readonly #prefix: string;
  readonly #ensureNamespace: (namespace: string) => Promise<void>;

  constructor(inner: ObjectStore, prefix: string, ensureNamespace: (namespace: string) => Promise<void>) {
    this.#inner = inner;
    this.#prefix = `${prefix}-`;
    this.#ensureNamespace = ensureNamespace;
  }

  get writesAreLocal(): boolean {
    return this.#inner.writesAreLocal === true;
  }

  async create<Spec, Status>(obj: NewObject<Spec, Status>): Promise<StoredObject<Spec, Status>> {
    const namespace = this.#in(obj?.metadata?.namespace);
    if (typeof namespace === "string" && namespace !== "") await this.#ensureNamespace(namespace);
    return this.#out(await this.#inner.create({ ...obj, metadata: { ...obj.metadata, namespace } }));
  }

  async get<Spec, Status>(
    kind: string,
    namespace: string,
    name: string,
  ): Promise<StoredObject<Spec, Status>> {
    return this.#out(await this.#inner.get<Spec, Status>(kind, this.#in(namespace), name));
  }

  async list<Spec, Status>(
    kind: string,
    options: ListOptions = {},
  ): Promise<ListResult<StoredObject<Spec, Status>>> {
    const listed = await this.#inner.list<Spec, Status>(kind, this.#options(options));
    return {
      items: listed.items.filter((o) => this.#ours(o)).map((o) => this.#out(o)),
      resourceVersion: listed.resourceVersion,
    };
  }

  async update<Spec, Status>(obj: StoredObject<Spec, Status>): Promise<StoredObject<Spec, Status>> {
    return this.#out(await this.#inner.update(this.#inObject(obj)));
  }

  async updateStatus<Spec, Status>(obj: StoredObject<Spec, Status>): Promise<StoredObject<Spec, Status>> {
    return this.#out(await this.#inner.updateStatus(this.#inObject(obj)));
  }

  async delete<Spec, Status>(
    kind: string,
    namespace: string,
    name: string,
    options?: DeleteOptions,
  ): Promise<StoredObject<Spec, Status>> {
    return this.#out(await this.#inner.delete<Spec, Status>(kind, this.#in(namespace), name, options));
  }

  async *watch<Spec, Status>(
    kind: string,
    options: WatchOptions,
    signal: AbortSignal,
  ): AsyncIterable<WatchEvent<StoredObject<Spec, Status>>> {
    const events = this.#inner.watch<Spec, Status>(kind, { ...options, ...this.#options(options) }, signal);
    for await (const event of events) {
      if (this.#ours(event.object)) yield { type: event.type, object: this.#out(event.object) };
    }
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #options(options: ListOptions): ListOptions {
    return options.namespace === undefined ? options : { ...options, namespace: this.#in(options.namespace) };
  }

  #in(namespace: string): string {
    return typeof namespace === "string" && namespace !== "" ? this.#prefix + namespace : namespace;
  }

  #inObject<T extends StoredObject<unknown, unknown>>(obj: T): T {
    if (typeof obj !== "object" || obj === null || typeof obj.metadata !== "object") return obj;
    return { ...obj, metadata: { ...obj.metadata, namespace: this.#in(obj.metadata.namespace) } };
  }

  #ours(obj: StoredObject<unknown, unknown>): boolean {
    return obj.metadata.namespace.startsWith(this.#prefix);
  }

  #out<T extends StoredObject<unknown, unknown>>(obj: T): T {
    const { namespace } = obj.metadata;
    if (!namespace.startsWith(this.#prefix)) return obj;
    return { ...obj, metadata: { ...obj.metadata, namespace: namespace.slice(this.#prefix.length) } };
  }
}

/** Which pools exist, as a create sees them: SandboxPool objects, and pools that only self-registered agents make up. */
import { ErrorCode, isFsbError, POOL_KIND, type SandboxPool } from "@fast-sandbox/api";
import type { ObjectStore } from "../store/object-store.ts";
import type { AgentRegistry } from "./registry/agent-registry.ts";

/** The controller's cache of SandboxPool objects (its informer). */
export interface PoolObjectCache {
  get(namespace: string, name: string): SandboxPool | undefined;
  list(): SandboxPool[];
}

export interface PoolCatalogOptions {
  store: ObjectStore;
  registry: AgentRegistry;
  /** Without a cache every lookup reads the store (unit tests). */
  cache?: PoolObjectCache;
  /**
   * Whether the pool had agents before the controller started that may still register again (its
   * sandboxes name agents, and the agents' return window is open). Absent: never.
   */
  mayReturn?: (namespace: string, name: string) => boolean;
}

/**
 * A pool exists when its SandboxPool object does, or when at least one agent is registered in it
 * (agents started with `--controller-url` make up their pool without an object), or may register
 * again right after a controller start. Lookups answer
 * from the cache and the registry, and read the store only when both miss: a pool applied a moment
 * ago may not be in the cache yet, and refusing a create for that would be wrong.
 */
export class PoolCatalog {
  readonly #o: PoolCatalogOptions;

  constructor(options: PoolCatalogOptions) {
    this.#o = options;
  }

  /** Whether agents are registered in the pool, or may be again soon after a controller start. */
  hasAgents(namespace: string, name: string): boolean {
    return this.#o.registry.hasAgentsIn(namespace, name) || (this.#o.mayReturn?.(namespace, name) ?? false);
  }

  /** The pool's object from the cache, else from the store; undefined when it has none. */
  async object(namespace: string, name: string): Promise<SandboxPool | undefined> {
    const cached = this.#o.cache?.get(namespace, name);
    if (cached) return cached;
    try {
      return await this.#o.store.get<SandboxPool["spec"], SandboxPool["status"]>(POOL_KIND, namespace, name);
    } catch (err) {
      if (isFsbError(err, ErrorCode.NotFound)) return undefined;
      throw err;
    }
  }

  /** The namespaces where a pool of this name exists (an object or registered agents), sorted. */
  async namespacesOf(name: string): Promise<string[]> {
    const objects = this.#o.cache
      ? this.#o.cache.list()
      : (await this.#o.store.list<SandboxPool["spec"], SandboxPool["status"]>(POOL_KIND)).items;
    const found = new Set(objects.filter((p) => p.metadata.name === name).map((p) => p.metadata.namespace));
    for (const ref of this.#o.registry.pools()) if (ref.pool === name) found.add(ref.namespace);
    return [...found].sort();
  }
}

/** Who owns what, as the janitor sees it: Sandbox objects and the agents that exist, and where that view comes from. */

/** The ownership facts of one Sandbox object. */
export interface SandboxOwner {
  namespace: string;
  name: string;
  /** The object's uid; empty for a fast-mode create whose object is not stored yet. */
  uid: string;
  /** The container of the object's current incarnation; empty when it is not placed. */
  sandboxId: string;
}

/** What an {@link OwnershipSource} read: every Sandbox object and every agent id that exists. */
export interface OwnershipFacts {
  sandboxes: readonly SandboxOwner[];
  /** Agents that exist, including ones the control plane knows of but has not heard from yet. */
  agents: Iterable<string>;
}

/**
 * Where ownership is read. A read that cannot be completed must throw (an FsbError, usually
 * UNAVAILABLE): a partial view would make live containers look like orphans, so the janitor
 * deletes nothing in a scan whose read failed. Today the controller's API answers
 * (controller-ownership-source.ts); a Kubernetes source (informers on Sandbox objects and agent
 * Pods) implements the same interface.
 */
export interface OwnershipSource {
  read(signal?: AbortSignal): Promise<Ownership>;
}

/** One consistent read of ownership, indexed for the lookups classification makes. */
export class Ownership {
  readonly #agents: ReadonlySet<string>;
  readonly #byContainer = new Map<string, SandboxOwner>();
  readonly #byName = new Map<string, SandboxOwner>();

  constructor(facts: OwnershipFacts) {
    this.#agents = new Set(facts.agents);
    for (const owner of facts.sandboxes) {
      if (owner.sandboxId !== "") this.#byContainer.set(owner.sandboxId, owner);
      this.#byName.set(nameKey(owner.namespace, owner.name), owner);
    }
  }

  /** Whether the agent exists (a placeholder not heard from yet counts). */
  hasAgent(agentId: string): boolean {
    return this.#agents.has(agentId);
  }

  /** The object whose current incarnation is this container, if any. */
  ownerOfContainer(containerId: string): SandboxOwner | undefined {
    return this.#byContainer.get(containerId);
  }

  /** The object of that namespace and name, if any. */
  byName(namespace: string, name: string): SandboxOwner | undefined {
    return this.#byName.get(nameKey(namespace, name));
  }
}

function nameKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

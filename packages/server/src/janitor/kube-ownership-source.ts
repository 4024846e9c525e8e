/**
 * Ownership read from the Kubernetes API server: every Sandbox object (all namespaces) and the agent
 * Pods on this janitor's node. For the janitor DaemonSet, so it depends on the API server only.
 */

import {
  Labels,
  SANDBOX_KIND,
  type SandboxSpec,
  type SandboxStatus,
  type StoredObject,
} from "@fast-sandbox/api";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { AGENT_POD_SELECTOR } from "../kube/agent-pod-labels.ts";
import { kubeError } from "../kube/kube-errors.ts";
import { KubeStore } from "../store/kube-store.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { Ownership, type OwnershipFacts, type OwnershipSource } from "./ownership.ts";

/** The agent Pod fields ownership reads, as the typed client returns them. */
export interface AgentPodMeta {
  metadata?: { name?: string; labels?: Record<string, string> };
}

export interface KubeOwnershipSourceOptions {
  kubeConfig: KubeConfig;
  /** This janitor's node: only its agent Pods matter for the containers it can see. */
  nodeName: string;
  /** Where Sandbox objects are read (default a KubeStore on `kubeConfig`). */
  store?: ObjectStore;
  /**
   * Another source whose agents count too: the controller's, which knows agents that registered
   * themselves without a Pod. Its read failing fails this read (deleting nothing is the safe side).
   */
  agentsAlso?: OwnershipSource;
  /** How the node's agent Pods are listed (default: CoreV1Api on `kubeConfig`); tests pass a fake. */
  listAgentPods?: (nodeName: string) => Promise<AgentPodMeta[]>;
}

/**
 * Each read lists every Sandbox (a consistent list, not a cache that could lag behind a create) and
 * the agent Pods scheduled on this node (field selector `spec.nodeName=<node>`, label selector of
 * buildAgentPod's Pods). Any failure throws, so the scan deletes nothing.
 *
 * Agents that are not Pods (fsb-agent processes started by hand that register themselves with the
 * controller) are known only through `agentsAlso`. Fast-mode creates whose object is not written yet
 * are not seen at all: keep `--orphan-timeout` above the controller's `--fastpath-orphan-timeout`.
 */
export class KubeOwnershipSource implements OwnershipSource {
  readonly #listAgentPods: (nodeName: string) => Promise<AgentPodMeta[]>;
  readonly #store: ObjectStore;
  readonly #nodeName: string;
  readonly #agentsAlso: OwnershipSource | undefined;

  constructor(options: KubeOwnershipSourceOptions) {
    this.#listAgentPods = options.listAgentPods ?? podLister(options.kubeConfig);
    this.#store = options.store ?? new KubeStore({ kubeConfig: options.kubeConfig });
    this.#nodeName = options.nodeName;
    this.#agentsAlso = options.agentsAlso;
  }

  async read(signal?: AbortSignal): Promise<Ownership> {
    const [sandboxes, pods, also] = await Promise.all([
      this.#store.list<SandboxSpec, SandboxStatus>(SANDBOX_KIND),
      this.#listAgentPods(this.#nodeName),
      this.#agentsAlso?.read(signal),
    ]);
    const facts = ownershipFacts(sandboxes.items, pods);
    return also === undefined ? new Ownership(facts) : new WithAgentsOf(facts, also);
  }
}

/** Lists the agent Pods scheduled on a node, across all namespaces. */
function podLister(kubeConfig: KubeConfig): (nodeName: string) => Promise<AgentPodMeta[]> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return async (nodeName) => {
    try {
      const list = await core.listPodForAllNamespaces({
        fieldSelector: `spec.nodeName=${nodeName}`,
        labelSelector: AGENT_POD_SELECTOR,
      });
      return list.items;
    } catch (err) {
      throw kubeError(err, `list the agent Pods on node ${nodeName}`);
    }
  };
}

/** Ownership whose agents are those of its facts and those another read knows. */
class WithAgentsOf extends Ownership {
  readonly #also: Ownership;

  constructor(facts: OwnershipFacts, also: Ownership) {
    super(facts);
    this.#also = also;
  }

  override hasAgent(agentId: string): boolean {
    return super.hasAgent(agentId) || this.#also.hasAgent(agentId);
  }
}

/**
 * The facts of a read: each Sandbox with its uid and current container, and each agent Pod's agent id
 * (its agent label, else its name). A Pod counts whatever its phase, terminating or failed included:
 * while it exists its agent may still be tearing sandboxes down, and counting it only defers removal.
 */
export function ownershipFacts(
  sandboxes: ReadonlyArray<StoredObject<SandboxSpec, SandboxStatus>>,
  pods: readonly AgentPodMeta[],
): OwnershipFacts {
  return {
    sandboxes: sandboxes.map((s) => ({
      namespace: s.metadata.namespace,
      name: s.metadata.name,
      uid: s.metadata.uid,
      sandboxId: s.status.sandboxID ?? "",
    })),
    agents: pods
      .map((p) => p.metadata?.labels?.[Labels.Agent] || p.metadata?.name)
      .filter((id): id is string => typeof id === "string" && id !== ""),
  };
}

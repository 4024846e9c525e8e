/**
 * A pool as the Kubernetes-style SandboxPool object `pools get -o yaml|json` prints: apiVersion,
 * kind, metadata, spec (defaults applied) and status (with the live agents). `fsb-ctl apply`
 * accepts it back as it is: it ignores status and the metadata only the server sets.
 */
import { POOL_API_VERSION, POOL_KIND, type PoolDetails, type PrewarmTemplate } from "@fast-sandbox/sdk";

export function toPoolResource(p: PoolDetails): Record<string, unknown> {
  const { status } = p;
  return {
    apiVersion: POOL_API_VERSION,
    kind: POOL_KIND,
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.uid,
      resourceVersion: p.resourceVersion,
      generation: status.generation,
      creationTimestamp: p.createdAt,
      ...(Object.keys(p.labels).length ? { labels: p.labels } : {}),
      ...(Object.keys(p.annotations).length ? { annotations: p.annotations } : {}),
    },
    spec: {
      capacity: p.spec.capacity,
      maxSandboxesPerPod: p.spec.maxSandboxesPerPod,
      runtimeType: p.spec.runtimeType,
      ...(p.spec.prewarm.length ? { prewarm: p.spec.prewarm.map(prewarmTemplate) } : {}),
      ...(p.spec.agentTemplate ? { agentTemplate: p.spec.agentTemplate } : {}),
    },
    status: {
      observedGeneration: status.observedGeneration,
      currentAgents: status.currentAgents,
      readyAgents: status.readyAgents,
      totalSlots: status.totalSlots,
      allocatedSlots: status.allocatedSlots,
      conditions: status.conditions,
      agents: p.agents,
    },
  };
}

/** Without empty lists, as one would write the template by hand. */
function prewarmTemplate(t: PrewarmTemplate): Record<string, unknown> {
  return {
    image: t.image,
    ...(t.command.length ? { command: t.command } : {}),
    ...(t.args.length ? { args: t.args } : {}),
    ...(t.env.length ? { env: t.env } : {}),
    count: t.count,
  };
}

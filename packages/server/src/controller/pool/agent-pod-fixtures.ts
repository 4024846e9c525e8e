/** Test support: pools, and agent Pods as an API server would return them (built by buildAgentPod). */
import { API_VERSION, type SandboxPool, type SandboxPoolSpec } from "@fast-sandbox/api";
import type { V1Pod } from "@kubernetes/client-node";
import { fromKubeObject } from "../../store/kube-object-mapping.ts";
import { buildAgentPod } from "./agent-pod.ts";
import type { AgentPod, AgentPodStatus } from "./agent-pod-view.ts";

export function testPool(
  name: string,
  spec: Partial<SandboxPoolSpec> = {},
  namespace = "team-a",
): SandboxPool {
  return {
    apiVersion: API_VERSION,
    kind: "SandboxPool",
    metadata: {
      name,
      namespace,
      uid: `uid-${name}`,
      resourceVersion: "7",
      generation: 1,
      creationTimestamp: "2026-01-01T00:00:00Z",
      labels: {},
      annotations: {},
      finalizers: [],
    },
    spec: { capacity: { poolMin: 1, poolMax: 10, bufferMin: 0, bufferMax: 10 }, ...spec },
    status: {},
  };
}

export const podOptions = { image: "fast-sandbox:test", tokenSecretName: "fast-sandbox-tokens" };

/** The Pod of `agentId` with what the server adds: uid, version, timestamps, and the given status. */
export function servedPod(
  pool: SandboxPool,
  agentId: string,
  status: AgentPodStatus & { nodeName?: string; deleting?: boolean } = {},
  built?: V1Pod,
): AgentPod {
  const pod = built ?? buildAgentPod(pool, { ...podOptions, agentId });
  const { nodeName, deleting, ...podStatus } = status;
  const json = JSON.parse(JSON.stringify(pod)) as {
    metadata: Record<string, unknown>;
    spec: Record<string, unknown>;
    status?: unknown;
  };
  json.metadata = {
    ...json.metadata,
    uid: `uid-${agentId}`,
    resourceVersion: "100",
    creationTimestamp: "2026-01-02T00:00:00Z",
    ...(deleting ? { deletionTimestamp: "2026-01-02T00:10:00Z" } : {}),
  };
  if (nodeName !== undefined) json.spec.nodeName = nodeName;
  json.status = podStatus;
  return fromKubeObject(json, `Pod ${agentId}`);
}

/** The status of a Pod whose agent answers its readiness probe. */
export function readyStatus(podIP = "10.1.2.3", nodeName = "node-1"): AgentPodStatus & { nodeName: string } {
  return { phase: "Running", podIP, nodeName, conditions: [{ type: "Ready", status: "True" }] };
}

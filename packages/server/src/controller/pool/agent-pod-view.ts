/** What an agent Pod says about its agent: which pool, whether it can serve, and how to reach it. Pure. */
import { Labels, PoolDefaults, type StoredObject } from "@fast-sandbox/api";
import type { AgentRegistration } from "../../agent/controller-registration.ts";
import type { PoolRef } from "./agent-launcher.ts";
import { AGENT_CONTAINER } from "./agent-pod.ts";

/** The parts of a Pod spec the view reads (the Pod as it comes out of the store mapping). */
export interface AgentPodSpec {
  nodeName?: string;
  containers?: Array<{
    name?: string;
    args?: string[];
    env?: Array<{ name?: string; value?: string }>;
    ports?: Array<{ name?: string; containerPort?: number }>;
  }>;
}

export interface AgentPodStatus {
  phase?: string;
  podIP?: string;
  conditions?: Array<{ type?: string; status?: string }>;
}

export type AgentPod = StoredObject<AgentPodSpec, AgentPodStatus>;

/**
 * `pending`: scheduled, starting, or running but not Ready (the agent does not answer its probe);
 * `ready`: Running, Ready and with an IP, so it can be registered; `failed`: the Pod is over
 * (Failed or Succeeded: evicted, its node lost) and must be replaced; `terminating`: being deleted.
 */
export type AgentPodPhase = "pending" | "ready" | "failed" | "terminating";

export interface AgentPodView {
  agentId: string;
  /** From the pool label; undefined on a Pod that lost it (not ours to count). */
  pool: PoolRef | undefined;
  phase: AgentPodPhase;
  /** The registration the controller makes for a ready agent. */
  registration: AgentRegistration | undefined;
  /** When the Pod was created (epoch ms). */
  createdAt: number;
}

/** The agent's port when its container names none (the controller's --agent-port). */
export interface AgentPodDefaults {
  agentPort: number;
}

/**
 * Reads an agent Pod. Capacity, runtime and port come from the Pod itself, as buildAgentPod wrote
 * them (AGENT_CAPACITY, `--runtime`, the `http` port): that is what the agent in it runs with, even if
 * the pool changed since.
 */
export function viewAgentPod(pod: AgentPod, defaults: AgentPodDefaults): AgentPodView {
  const meta = pod.metadata;
  const agentId = meta.labels[Labels.Agent] || meta.name;
  const poolName = meta.labels[Labels.Pool];
  const pool = poolName ? { namespace: meta.namespace, name: poolName } : undefined;
  const createdAt = Date.parse(meta.creationTimestamp);
  const phase = phaseOf(pod);
  const ip = pod.status.podIP;
  const registration =
    phase === "ready" && pool !== undefined && ip
      ? registrationOf(pod, agentId, pool, ip, defaults)
      : undefined;
  return { agentId, pool, phase, registration, createdAt: Number.isNaN(createdAt) ? 0 : createdAt };
}

function phaseOf(pod: AgentPod): AgentPodPhase {
  if (pod.metadata.deletionTimestamp !== undefined) return "terminating";
  const { phase, podIP, conditions } = pod.status;
  if (phase === "Failed" || phase === "Succeeded") return "failed";
  const ready = (conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
  return phase === "Running" && ready && podIP ? "ready" : "pending";
}

function registrationOf(
  pod: AgentPod,
  agentId: string,
  pool: PoolRef,
  ip: string,
  defaults: AgentPodDefaults,
): AgentRegistration {
  const containers = pod.spec.containers ?? [];
  const agent = containers.find((c) => c.name === AGENT_CONTAINER) ?? containers[0];
  const port = agent?.ports?.find((p) => p.name === "http")?.containerPort ?? defaults.agentPort;
  const capacityEnv = agent?.env?.find((e) => e.name === "AGENT_CAPACITY")?.value;
  const capacity = capacityEnv !== undefined && /^\d+$/.test(capacityEnv) ? Number(capacityEnv) : undefined;
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return {
    agentId,
    url: `http://${host}:${port}`,
    address: ip,
    nodeName: pod.spec.nodeName ?? "",
    pool: pool.name,
    namespace: pool.namespace,
    capacity: capacity ?? PoolDefaults.maxSandboxesPerPod,
    runtime: lastFlag(agent?.args ?? [], "--runtime") ?? PoolDefaults.runtimeType,
  };
}

/** The value of the last `--flag value` or `--flag=value` (a later flag wins, as the agent parses them). */
function lastFlag(args: readonly string[], flag: string): string | undefined {
  let value: string | undefined;
  args.forEach((arg, i) => {
    if (arg === flag && i + 1 < args.length) value = args[i + 1];
    else if (arg.startsWith(`${flag}=`)) value = arg.slice(flag.length + 1);
  });
  return value;
}

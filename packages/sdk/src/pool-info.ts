/** Plain SDK view of a SandboxPool: the wire PoolInfo with Dates, numbers and plain objects, no protobuf classes. */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { PoolInfo, PoolSpec as WirePoolSpec } from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import type { SandboxCondition } from "./sandbox-info.ts";

/** `container` (runc) or `gvisor` (runsc). */
export type RuntimeType = "container" | "gvisor";

/** How many agents a pool runs, and how many free slots it keeps. */
export interface PoolCapacity {
  /** Fewest agents, even when idle. */
  poolMin: number;
  /** Most agents. */
  poolMax: number;
  /** Free slots the pool keeps ready for new sandboxes. */
  bufferMin: number;
  /** Free slots above which idle agents are drained and removed. */
  bufferMax: number;
}

/** One environment variable, as in a Kubernetes container. */
export interface EnvVar {
  name: string;
  value: string;
}

/** Containers each agent keeps created but not started, for creates with exactly this image, command, args and env. */
export interface PrewarmTemplate {
  image: string;
  command: string[];
  args: string[];
  env: EnvVar[];
  /** Containers per agent. */
  count: number;
}

/** A pool's spec as the server holds it, defaults applied (the `spec` of the SandboxPool resource). */
export interface PoolSpec {
  capacity: PoolCapacity;
  /** Sandboxes per agent (the agent's capacity). */
  maxSandboxesPerPod: number;
  runtimeType: RuntimeType;
  prewarm: PrewarmTemplate[];
  /** A Kubernetes Pod template for the agents (Kubernetes mode only). */
  agentTemplate: Record<string, unknown> | undefined;
  /** The network of its sandboxes (docs/network.md). */
  network: PoolNetwork;
  /** The seccomp filter of its sandboxes (docs/security.md). */
  seccompProfile: { type: "RuntimeDefault" | "Unconfined" | "Localhost"; localhostProfile?: string };
}

/** A pool's network settings, defaults applied. */
export interface PoolNetwork {
  mode: "isolated" | "none" | "agent";
  /** Egress rules of its isolated sandboxes; undefined: everything allowed but what is never or restricted. */
  egress: { default: "allow" | "deny"; allow: string[]; deny: string[] } | undefined;
  /** Whether a sandbox may set its own network. */
  allowSandboxOverride: boolean;
}

/** A Kubernetes-style condition of a pool (`Ready`, `Scaling`). */
export type PoolCondition = SandboxCondition;

/** What the pool controller last reported. */
export interface PoolStatus {
  /** The spec's generation; it grows with every change of the spec. */
  generation: number;
  /** The generation this status describes; below `generation` while the controller catches up. */
  observedGeneration: number;
  /** Agents launched and not yet removed, ready or not. */
  currentAgents: number;
  /** Agents answering and not draining. */
  readyAgents: number;
  /** Slots of the ready agents. */
  totalSlots: number;
  /** Slots taken by sandboxes. */
  allocatedSlots: number;
  conditions: PoolCondition[];
}

/** One agent of a pool, as the controller sees it now. */
export interface PoolAgent {
  id: string;
  node: string;
  /** Answering its status probes. */
  healthy: boolean;
  /** Being scaled down: takes no new sandboxes and goes once empty. */
  draining: boolean;
  capacity: number;
  allocated: number;
  /** Prewarmed containers ready to be taken. */
  prewarmReady: number;
  /** `starting`, `running` or `stopping`; empty for an agent the controller did not launch. */
  launchState: "starting" | "running" | "stopping" | "";
}

/** Everything the server reports about a pool. */
export interface PoolDetails {
  name: string;
  namespace: string;
  uid: string;
  spec: PoolSpec;
  status: PoolStatus;
  agents: PoolAgent[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  createdAt: Date | undefined;
  /** Opaque version of the SandboxPool object. */
  resourceVersion: string;
}

/**
 * The defaults pool.proto documents for unset fields. The server fills them in before it answers;
 * they stand in only for a field an older server leaves unset, so the spec is always complete.
 */
const DOCUMENTED_DEFAULTS = {
  capacity: { poolMin: 1, poolMax: 10, bufferMin: 0, bufferMax: 10 },
  maxSandboxesPerPod: 5,
  runtimeType: "container",
} as const;

export function toPoolDetails(info: PoolInfo): PoolDetails {
  const date = (t: Parameters<typeof timestampDate>[0] | undefined) => (t ? timestampDate(t) : undefined);
  return {
    name: info.name,
    namespace: info.namespace,
    uid: info.uid,
    spec: toPoolSpec(info.spec),
    status: {
      generation: Number(info.generation),
      observedGeneration: Number(info.observedGeneration),
      currentAgents: info.currentAgents,
      readyAgents: info.readyAgents,
      totalSlots: info.totalSlots,
      allocatedSlots: info.allocatedSlots,
      conditions: info.conditions.map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        lastTransitionTime: date(c.lastTransitionTime),
      })),
    },
    agents: info.agents.map((a) => ({
      id: a.id,
      node: a.node,
      healthy: a.healthy,
      draining: a.draining,
      capacity: a.capacity,
      allocated: a.allocated,
      prewarmReady: a.prewarmReady,
      launchState: a.launchState as PoolAgent["launchState"],
    })),
    labels: { ...info.labels },
    annotations: { ...info.annotations },
    createdAt: date(info.createdAt),
    resourceVersion: info.resourceVersion,
  };
}

function toPoolSpec(spec: WirePoolSpec | undefined): PoolSpec {
  const capacity = spec?.capacity;
  const defaults = DOCUMENTED_DEFAULTS;
  return {
    capacity: {
      poolMin: capacity?.poolMin ?? defaults.capacity.poolMin,
      poolMax: capacity?.poolMax ?? defaults.capacity.poolMax,
      bufferMin: capacity?.bufferMin ?? defaults.capacity.bufferMin,
      bufferMax: capacity?.bufferMax ?? defaults.capacity.bufferMax,
    },
    maxSandboxesPerPod: spec?.maxSandboxesPerPod ?? defaults.maxSandboxesPerPod,
    runtimeType: (spec?.runtimeType || defaults.runtimeType) as RuntimeType,
    prewarm: (spec?.prewarm ?? []).map((t) => ({
      image: t.image,
      command: [...t.command],
      args: [...t.args],
      env: t.env.map((e) => ({ name: e.name, value: e.value })),
      count: t.count,
    })),
    // A Struct arrives as a plain JSON object already; copy it so callers cannot alter the message.
    agentTemplate: spec?.agentTemplate ? structuredClone(spec.agentTemplate) : undefined,
    network: {
      mode: (spec?.network?.mode || "isolated") as PoolNetwork["mode"],
      egress: spec?.network?.egress
        ? {
            default: (spec.network.egress.default || "allow") as "allow" | "deny",
            allow: [...spec.network.egress.allow],
            deny: [...spec.network.egress.deny],
          }
        : undefined,
      allowSandboxOverride: spec?.network?.allowSandboxOverride ?? false,
    },
    seccompProfile: {
      type: (spec?.seccompProfile?.type || "RuntimeDefault") as PoolSpec["seccompProfile"]["type"],
      ...(spec?.seccompProfile?.localhostProfile
        ? { localhostProfile: spec.seccompProfile.localhostProfile }
        : {}),
    },
  };
}

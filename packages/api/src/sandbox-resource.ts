/** The Sandbox and SandboxPool resources (design §2): spec, status, phases and condition reasons. */
import type { Condition, StoredObject } from "./object-meta.ts";

export type ConsistencyMode = "fast" | "strong";
export type FailurePolicy = "Manual" | "AutoRecreate";

/** Sandbox lifecycle phases. Pending → Bound → Running; then Failed, Lost, Expired or Terminating. */
export const SandboxPhase = {
  Pending: "Pending",
  Bound: "Bound",
  Running: "Running",
  Failed: "Failed",
  Lost: "Lost",
  Expired: "Expired",
  Terminating: "Terminating",
} as const;
export type SandboxPhase = (typeof SandboxPhase)[keyof typeof SandboxPhase];

/** The finalizer that keeps a Sandbox until its container is gone. */
export const SANDBOX_FINALIZER = "sandbox.fast.io/cleanup";
export const DEFAULT_POOL = "default-pool";
export const DEFAULT_RECOVERY_TIMEOUT_SECONDS = 60;

export interface SandboxResources {
  cpu?: string;
  memory?: string;
  pids?: number;
}

export interface SandboxSpec {
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  workingDir?: string;
  exposedPorts?: number[];
  poolRef?: string;
  consistencyMode?: ConsistencyMode;
  failurePolicy?: FailurePolicy;
  recoveryTimeoutSeconds?: number;
  /** RFC 3339; a reset runs when it is newer than status.acceptedResetRevision. */
  resetRevision?: string;
  /** RFC 3339; unset means never. */
  expireTime?: string;
  resources?: SandboxResources;
}

export interface SandboxStatus {
  phase?: SandboxPhase;
  conditions?: Condition[];
  assignedAgent?: string;
  nodeName?: string;
  sandboxID?: string;
  endpoints?: string[];
  acceptedResetRevision?: string;
  observedGeneration?: number;
  startedAt?: string;
  exitCode?: number;
  recreations?: number;
}

export type Sandbox = StoredObject<SandboxSpec, SandboxStatus>;

/** Condition types and the reasons they carry. */
export const SandboxCondition = {
  Scheduled: "Scheduled",
  Ready: "Ready",
} as const;

export const SandboxReason = {
  Allocated: "Allocated",
  NoCapacity: "NoCapacity",
  ImageNotCached: "ImageNotCached",
  AgentCreateFailed: "AgentCreateFailed",
  Started: "Started",
  ContainerExited: "ContainerExited",
  AgentLost: "AgentLost",
  Expired: "Expired",
  Recreating: "Recreating",
  Resetting: "Resetting",
  Deleting: "Deleting",
} as const;

export interface SandboxPoolSpec {
  capacity: { poolMin: number; poolMax: number; bufferMin: number; bufferMax: number };
  maxSandboxesPerPod?: number;
  runtimeType?: "container" | "gvisor";
  /** A Pod template (Kubernetes mode only). */
  agentTemplate?: Record<string, unknown>;
  prewarm?: Array<{
    image: string;
    command?: string[];
    args?: string[];
    env?: Array<{ name: string; value: string }>;
    count: number;
  }>;
}

export interface SandboxPoolStatus {
  observedGeneration?: number;
  currentAgents?: number;
  readyAgents?: number;
  totalSlots?: number;
  allocatedSlots?: number;
  conditions?: Condition[];
}

export type SandboxPool = StoredObject<SandboxPoolSpec, SandboxPoolStatus>;

/** The Sandbox and SandboxPool resources (group sandbox.fast.io): spec, status, phases and condition reasons. */
import type { Condition, StoredObject } from "./object-meta.ts";

export type ConsistencyMode = "fast" | "strong";
export type FailurePolicy = "Manual" | "AutoRecreate";

/**
 * Sandbox lifecycle phases. Pending → Bound → Running; then Succeeded (the process exited 0),
 * Failed, Lost, Expired or Terminating.
 */
export const SandboxPhase = {
  Pending: "Pending",
  Bound: "Bound",
  Running: "Running",
  Succeeded: "Succeeded",
  Failed: "Failed",
  Lost: "Lost",
  Expired: "Expired",
  Terminating: "Terminating",
} as const;
export type SandboxPhase = (typeof SandboxPhase)[keyof typeof SandboxPhase];

import type { PoolNetworkSpec, SandboxNetworkSpec } from "./network-spec.ts";

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
  /** Network mode and egress rules where the pool lets the sandbox choose; the pool's when unset. */
  network?: SandboxNetworkSpec;
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

/** The kind of a Sandbox object in the store (and of the Kubernetes custom resource). */
export const SANDBOX_KIND = "Sandbox";
/** The kind of a SandboxPool object in the store (and of the Kubernetes custom resource). */
export const POOL_KIND = "SandboxPool";

/**
 * Annotation a delete sets on a Sandbox to carry its grace period (whole seconds) to the cleanup,
 * which runs later in the reconciler.
 */
export const GRACE_ANNOTATION = "sandbox.fast.io/delete-grace-seconds";

/**
 * Annotation the controller sets on every Sandbox it creates: when it took the create (RFC 3339,
 * milliseconds, the controller's clock), which the API reports as `createdAt`. A fast create stores
 * its object only after the container started, and a Kubernetes API server stamps
 * creationTimestamp on its own clock in whole seconds; with this, `createdAt` and `startedAt` come
 * from one clock, in order.
 */
export const CREATED_AT_ANNOTATION = "sandbox.fast.io/created-at";

/** Condition types of a Sandbox. */
export const SandboxCondition = {
  /** True while the sandbox holds a slot on an agent; False (with a reason) while it waits for one. */
  Scheduled: "Scheduled",
  /** True while the container runs; False (with a reason) once it stopped running or never started. */
  Ready: "Ready",
} as const;

/** The reasons a Sandbox's conditions carry; every reason the controller writes is one of these. */
export const SandboxReason = {
  /** Scheduled=True: a slot on an agent is reserved (the message names the agent). */
  Allocated: "Allocated",
  /** Scheduled=False: no agent with the image has a free slot; the reconciler looks again. */
  NoCapacity: "NoCapacity",
  /** Scheduled=False: no agent has the image; it looks again (loading an image takes a person or a pipeline). */
  ImageNotCached: "ImageNotCached",
  /**
   * Scheduled=False: spec.poolRef names no pool of the sandbox's namespace (no SandboxPool object,
   * no agent registered in it); it looks again, and is placed once the pool appears.
   */
  PoolNotFound: "PoolNotFound",
  /**
   * Scheduled=False: the pool runs gVisor sandboxes outside network mode isolated (loopback only),
   * and spec.exposedPorts is set.
   */
  ExposedPortsUnsupported: "ExposedPortsUnsupported",
  /**
   * The agent could not start the container: Scheduled=False while it is retried, Ready=False when
   * the request itself is wrong (the phase is Failed then).
   */
  AgentCreateFailed: "AgentCreateFailed",
  /**
   * Scheduled=False: the agent found a declared exposed port already listening on its node, opened
   * by a process that did not declare it (sandboxes share the node's network until network
   * isolation); the reconciler tries again, as the port may be freed.
   */
  PortInUse: "PortInUse",
  /** Ready=True: the container runs (after a start, or after its lost agent came back with it). */
  Started: "Started",
  /** Ready=False: the container's process exited with code 0 (phase Succeeded); status.exitCode is 0. */
  Completed: "Completed",
  /** Ready=False: the container's process ended with a non-zero code (phase Failed); status.exitCode holds it. */
  ContainerExited: "ContainerExited",
  /** Ready=False: the agent's status no longer lists the container. */
  ContainerMissing: "ContainerMissing",
  /** Ready=False: the agent stopped answering (phase Lost); the container may still run there. */
  AgentLost: "AgentLost",
  /** Ready=False: spec.expireTime passed; the container is stopped (its grace period) and removed. */
  Expired: "Expired",
  /** Scheduled=False: failurePolicy AutoRecreate makes a new incarnation after a failure. */
  Recreating: "Recreating",
  /** Ready=False: a recreation found no room within spec.recoveryTimeoutSeconds (phase Failed). */
  RecoveryTimedOut: "RecoveryTimedOut",
  /** Scheduled=False: a reset (spec.resetRevision) removed the container; a new one follows. */
  Resetting: "Resetting",
} as const;
export type SandboxReason = (typeof SandboxReason)[keyof typeof SandboxReason];

/** The seccomp filter kinds a pool may choose, as Kubernetes names them. */
export type SeccompProfileType = "RuntimeDefault" | "Unconfined" | "Localhost";

/**
 * A pool's seccomp filter, in the shape of a Kubernetes securityContext's `seccompProfile`:
 * RuntimeDefault is fast-sandbox's built-in profile, Unconfined none, Localhost a profile file
 * on the node (an OCI linux.seccomp JSON object).
 */
export interface SeccompProfile {
  type: SeccompProfileType;
  /**
   * Localhost only: the file's path relative to the node's profile directory
   * (/var/lib/fast-sandbox/seccomp in Kubernetes, <data-dir>/seccomp in standalone).
   */
  localhostProfile?: string;
}

export interface SandboxPoolSpec {
  capacity: { poolMin: number; poolMax: number; bufferMin: number; bufferMax: number };
  maxSandboxesPerPod?: number;
  runtimeType?: "container" | "gvisor";
  /** The network of the pool's sandboxes; mode isolated with egress allowed when absent. */
  network?: PoolNetworkSpec;
  /** The seccomp filter of the pool's sandboxes; RuntimeDefault when absent. gVisor pools get none. */
  seccompProfile?: SeccompProfile;
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

/** Condition types of a SandboxPool. */
export const PoolCondition = {
  /** True once at least poolMin agents answer. */
  Ready: "Ready",
  /** True while agents are launched or drained towards the demand. */
  Scaling: "Scaling",
} as const;

/** The reasons a SandboxPool's conditions carry. */
export const PoolReason = {
  /** Ready: at least poolMin agents answer. */
  MinimumAgentsReady: "MinimumAgentsReady",
  /** Ready=False: fewer than poolMin agents answer yet. */
  AgentsStarting: "AgentsStarting",
  /** Ready=False: the pool is being deleted. */
  Deleting: "Deleting",
  /**
   * Ready=False: the spec breaks a rule the API server did not check (poolMin above poolMax, bufferMin
   * above bufferMax, on a server without CEL); the message names the field. Nothing scales until fixed.
   */
  InvalidSpec: "InvalidSpec",
  /** Scaling=True: agents are being launched for the demand. */
  ScalingUp: "ScalingUp",
  /** Scaling=True: surplus agents are draining. */
  ScalingDown: "ScalingDown",
  /** Scaling=False: the agents match the demand. */
  Stable: "Stable",
  /** Scaling=True while demand exceeds poolMax: creates beyond it get RESOURCE_EXHAUSTED. */
  AtMaximum: "AtMaximum",
} as const;

/**
 * The agent Pod of a SandboxPool: the pool's `agentTemplate` with what fsb-agent needs added to its
 * container named `agent`, keeping every setting of the template that the agent can live with.
 */

import {
  API_VERSION,
  invalidArgument,
  isDnsLabel,
  Labels,
  PoolDefaults,
  type SandboxPool,
} from "@fast-sandbox/api";
import type {
  V1Container,
  V1EnvVar,
  V1ObjectMeta,
  V1Pod,
  V1PodSpec,
  V1PodTemplateSpec,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import {
  DEFAULT_ANCHOR_DIR,
  DEFAULT_HTTP_PORT,
  DEFAULT_NETWORK_STATE_DIR,
} from "../../agent/agent-config.ts";
import { DEFAULT_LOG_DIR } from "../../core/sandbox-log-dir.ts";
import { AGENT_POD_LABELS } from "../../kube/agent-pod-labels.ts";
import { NETNS_DIR } from "../../network/netns-pool.ts";
import { agentNetworkArgs } from "./agent-network-args.ts";
import { agentSeccompFlag } from "./agent-seccomp.ts";

export const AGENT_CONTAINER = "agent";
/** The agent's entry point on the image's PATH (see Dockerfile). */
export const AGENT_COMMAND = "fsb-agent";
/** The key of the agent token in the Secret named by {@link AgentPodOptions.tokenSecretName}. */
export const AGENT_TOKEN_KEY = "agent-token";
/** The ServiceAccount deploy/ creates for agents (no API access, no token mounted). */
export const AGENT_SERVICE_ACCOUNT = "fast-sandbox-agent";
/**
 * Long enough for a graceful stop: the agent finishes the creates and deletes in flight, and a
 * delete waits out its grace period (10 s by default) before SIGKILL and teardown.
 */
export const AGENT_TERMINATION_GRACE_SECONDS = 60;
/** containerd's state directory on the node; the socket is in it. */
export const CONTAINERD_STATE_DIR = "/run/containerd";
/** Where a gvisor pool's init container installs runsc and its wrapper on the node. */
export const RUNSC_HOST_DIR = "/opt/fast-sandbox/bin";
/** The image's copy of scripts/install-runsc.sh (the Dockerfile's WORKDIR is /app). */
export const INSTALL_RUNSC_SCRIPT = "/app/scripts/install-runsc.sh";
const INSTALL_RUNSC_CONTAINER = "install-runsc";
/**
 * Where a pool's Localhost seccomp profiles live on a node (as kubelet's <root-dir>/seccomp does for
 * Pods): mounted read-only into the agent Pods of such pools, at the same path.
 */
export const NODE_SECCOMP_DIR = "/var/lib/fast-sandbox/seccomp";
const HTTP_PORT_NAME = "http";

export interface AgentPodOptions {
  /** The agent's id and its Pod's name: a DNS-1123 label. */
  agentId: string;
  /** The agent image when the template's agent container names none (the controller's --agent-image). */
  image: string;
  /** A Secret in the pool's namespace whose `agent-token` key holds the agents' bearer token. */
  tokenSecretName: string;
  /** The Pod's ServiceAccount unless the template names one. */
  serviceAccountName?: string;
  /** The agent's HTTP port (default 5758). */
  agentPort?: number;
  /** When set, the agent registers itself with this controller URL (FSB_CONTROLLER_URL). */
  controllerUrl?: string;
}

/**
 * Builds the Pod for one agent of `pool`. Pure: the pool is not changed.
 *
 * Added: the agent container (merged into the template's `agent` container, or first), its env
 * from the downward API and the pool, the token from the Secret, the HTTP port with a readiness
 * probe, the node's containerd directory, sandbox log directory and shim anchor directory, labels,
 * the owner reference.
 *
 * Networking: `hostNetwork` stays as the template has it (off by default). Sandboxes join the
 * agent's network namespace, which is then the Pod's: endpoints are POD_IP:port, reachable in the
 * cluster, and two agents on one node never compete for ports (on the host network every agent of a
 * node would share its IP and the agent port).
 *
 * Forced, because the agent cannot work otherwise: `hostPID` (the agent names its network namespace
 * to runc as /proc/<its pid>/ns/net, and runc, a host process, reads the host's /proc: without the
 * host's PID namespace that pid would name another process's namespace), a privileged agent
 * container, `restartPolicy: Always`.
 */
export function buildAgentPod(pool: SandboxPool, options: AgentPodOptions): V1Pod {
  if (!isDnsLabel(options.agentId)) {
    throw invalidArgument(
      "agentId",
      `${JSON.stringify(options.agentId)} must be a DNS-1123 label (it names the Pod)`,
    );
  }
  const template = structuredClone(pool.spec.agentTemplate ?? {}) as V1PodTemplateSpec;
  const spec: V1PodSpec = template.spec ?? { containers: [] };
  const port = options.agentPort ?? DEFAULT_HTTP_PORT;
  const gvisor = pool.spec.runtimeType === "gvisor";

  const containers = spec.containers ?? [];
  const index = containers.findIndex((c) => c.name === AGENT_CONTAINER);
  const agent = agentContainer(index >= 0 ? containers[index] : undefined, pool, options, port);
  spec.containers = index >= 0 ? containers.with(index, agent) : [agent, ...containers];

  const volumes = [...(spec.volumes ?? [])];
  const mounts = [...(agent.volumeMounts ?? [])];
  mountNodeDirectories(volumes, mounts);
  if (pool.spec.seccompProfile?.type === "Localhost") {
    // The agent reads the profile at start; a missing one is its own error, naming --seccomp.
    addHostPath(volumes, mounts, {
      volume: { name: "fsb-seccomp", hostPath: { path: NODE_SECCOMP_DIR, type: "DirectoryOrCreate" } },
      mount: { name: "fsb-seccomp", mountPath: NODE_SECCOMP_DIR, readOnly: true },
    });
  }
  agent.volumeMounts = mounts;
  if (gvisor) addRunscInstaller(spec, volumes, agent.image ?? options.image);
  spec.volumes = volumes;
  setPodSettings(spec, options);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: agentPodMetadata(pool, template, options.agentId),
    spec,
  };
}

/** The node directories the agent shares with containerd's shims (host processes) and the janitor. */
function mountNodeDirectories(volumes: V1Volume[], mounts: V1VolumeMount[]): void {
  addHostPath(volumes, mounts, {
    volume: { name: "fsb-containerd", hostPath: { path: CONTAINERD_STATE_DIR, type: "Directory" } },
    // The directory, not the socket file, so a restarted containerd's new socket is seen. Host-to-
    // container propagation: the rootfs mounts shims make under it are released here when the
    // host releases them, so this Pod never pins a sandbox's snapshot.
    mount: {
      name: "fsb-containerd",
      mountPath: CONTAINERD_STATE_DIR,
      readOnly: true,
      mountPropagation: "HostToContainer",
    },
  });
  addHostPath(volumes, mounts, {
    volume: { name: "fsb-sandbox-logs", hostPath: { path: DEFAULT_LOG_DIR, type: "DirectoryOrCreate" } },
    // containerd's shim (a host process) writes the sandboxes' logs at this host path; the agent
    // reads them back and the janitor removes them, so all three must see the same directory.
    mount: { name: "fsb-sandbox-logs", mountPath: DEFAULT_LOG_DIR },
  });
  addHostPath(volumes, mounts, {
    volume: { name: "fsb-anchor", hostPath: { path: DEFAULT_ANCHOR_DIR, type: "DirectoryOrCreate" } },
    // The agent copies the image's static busybox here as its shim anchor's rootfs, and containerd's
    // shim (a host process) runs it from the host path: the same directory on both sides. The node's
    // agents share it (it is named by the binary's hash).
    mount: { name: "fsb-anchor", mountPath: DEFAULT_ANCHOR_DIR },
  });
  addHostPath(volumes, mounts, {
    volume: { name: "fsb-netns", hostPath: { path: NETNS_DIR, type: "DirectoryOrCreate" } },
    // Isolated sandboxes' namespaces are mounted here by the agent and joined by runc, a host
    // process: the mounts must reach the host, which only Bidirectional propagation does.
    mount: { name: "fsb-netns", mountPath: NETNS_DIR, mountPropagation: "Bidirectional" },
  });
  addHostPath(volumes, mounts, {
    volume: {
      name: "fsb-network-state",
      hostPath: { path: DEFAULT_NETWORK_STATE_DIR, type: "DirectoryOrCreate" },
    },
    // The agents of a node claim their subnets here; namespace names follow from the addresses, so
    // two agents on one node must never share a subnet, even in different Pods.
    mount: { name: "fsb-network-state", mountPath: DEFAULT_NETWORK_STATE_DIR },
  });
}

/** The Pod settings the agent needs (see buildAgentPod), and defaults the template may override. */
function setPodSettings(spec: V1PodSpec, options: AgentPodOptions): void {
  spec.hostPID = true;
  // Kubernetes refuses shareProcessNamespace together with hostPID.
  delete spec.shareProcessNamespace;
  spec.restartPolicy = "Always";
  spec.nodeSelector = { "kubernetes.io/os": "linux", ...spec.nodeSelector };
  const serviceAccountName = spec.serviceAccountName ?? options.serviceAccountName;
  if (serviceAccountName !== undefined) spec.serviceAccountName = serviceAccountName;
  spec.automountServiceAccountToken ??= false;
  // Pods in busy namespaces would otherwise get an env var per Service; the agent reads none.
  spec.enableServiceLinks ??= false;
  spec.terminationGracePeriodSeconds ??= AGENT_TERMINATION_GRACE_SECONDS;
}

/** The agent Pod's name, labels (the template's and ours), annotations and owner, the pool. */
function agentPodMetadata(pool: SandboxPool, template: V1PodTemplateSpec, agentId: string): V1ObjectMeta {
  const poolName = pool.metadata.name;
  return {
    name: agentId,
    namespace: pool.metadata.namespace,
    labels: {
      ...template.metadata?.labels,
      ...AGENT_POD_LABELS,
      [Labels.Pool]: poolName,
      [Labels.Agent]: agentId,
    },
    annotations: {
      "kubectl.kubernetes.io/default-container": AGENT_CONTAINER,
      ...template.metadata?.annotations,
    },
    ownerReferences: [
      {
        apiVersion: API_VERSION,
        kind: "SandboxPool",
        name: poolName,
        uid: pool.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
}

/** The template's agent container (or a new one) with the agent's command, env, port and probe. */
function agentContainer(
  from: V1Container | undefined,
  pool: SandboxPool,
  options: AgentPodOptions,
  port: number,
): V1Container {
  const container: V1Container = { ...from, name: AGENT_CONTAINER };
  container.image ??= options.image;
  container.command ??= [AGENT_COMMAND];
  const runtime = pool.spec.runtimeType ?? "container";
  const args = [
    "--http-port",
    String(port),
    "--log-dir",
    DEFAULT_LOG_DIR,
    "--anchor-dir",
    DEFAULT_ANCHOR_DIR,
    "--runtime",
    runtime,
    "--seccomp",
    agentSeccompFlag(pool.spec.seccompProfile, NODE_SECCOMP_DIR),
    ...agentNetworkArgs(pool.spec.network),
  ];
  if (runtime === "gvisor") args.push("--runsc-binary", `${RUNSC_HOST_DIR}/runsc-wrapper.sh`);
  // The template's args come last, so a flag given there wins over ours.
  container.args = [...args, ...(from?.args ?? [])];

  container.env = upsertEnv(from?.env ?? [], agentEnv(pool, options));
  container.ports = [
    ...(from?.ports ?? []).filter((p) => p.name !== HTTP_PORT_NAME && p.containerPort !== port),
    { name: HTTP_PORT_NAME, containerPort: port, protocol: "TCP" },
  ];
  container.readinessProbe ??= {
    httpGet: { path: "/healthz", port: HTTP_PORT_NAME },
    periodSeconds: 5,
    failureThreshold: 3,
  };
  container.resources ??= { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } };

  const securityContext = { ...from?.securityContext, privileged: true };
  // Kubernetes refuses allowPrivilegeEscalation: false on a privileged container.
  if (securityContext.allowPrivilegeEscalation === false) delete securityContext.allowPrivilegeEscalation;
  // The image's default user is not root; the containerd socket is root's.
  securityContext.runAsUser ??= 0;
  container.securityContext = securityContext;
  return container;
}

/** The env the agent reads; it replaces template entries of the same name (the pool is the truth). */
function agentEnv(pool: SandboxPool, options: AgentPodOptions): V1EnvVar[] {
  const field = (name: string, fieldPath: string): V1EnvVar => ({
    name,
    valueFrom: { fieldRef: { fieldPath } },
  });
  const env: V1EnvVar[] = [
    field("POD_NAME", "metadata.name"),
    field("POD_NAMESPACE", "metadata.namespace"),
    field("POD_IP", "status.podIP"),
    field("NODE_NAME", "spec.nodeName"),
    {
      name: "AGENT_CAPACITY",
      value: String(pool.spec.maxSandboxesPerPod ?? PoolDefaults.maxSandboxesPerPod),
    },
    { name: "AGENT_POOL", value: pool.metadata.name },
    { name: "AGENT_NAMESPACE", value: pool.metadata.namespace },
    {
      name: "FSB_AGENT_TOKEN",
      valueFrom: { secretKeyRef: { name: options.tokenSecretName, key: AGENT_TOKEN_KEY } },
    },
  ];
  if (options.controllerUrl !== undefined)
    env.push({ name: "FSB_CONTROLLER_URL", value: options.controllerUrl });
  return env;
}

function upsertEnv(list: readonly V1EnvVar[], ours: readonly V1EnvVar[]): V1EnvVar[] {
  const out = [...list];
  for (const entry of ours) {
    const at = out.findIndex((e) => e.name === entry.name);
    if (at >= 0) out[at] = entry;
    else out.push(entry);
  }
  return out;
}

/**
 * Adds a hostPath volume and its mount unless the container already mounts something at that path
 * (the template's choice stands); a template volume of the same name is reused, never duplicated.
 */
function addHostPath(
  volumes: V1Volume[],
  mounts: V1VolumeMount[],
  wanted: { volume: V1Volume; mount: V1VolumeMount },
): void {
  if (mounts.some((m) => m.mountPath === wanted.mount.mountPath)) return;
  if (!volumes.some((v) => v.name === wanted.volume.name)) volumes.push(wanted.volume);
  mounts.push(wanted.mount);
}

/**
 * gVisor: containerd's runc shim, a host process, runs the runsc wrapper, so runsc and the wrapper
 * must be on the node. An init container copies them there from the image before the agent starts.
 */
function addRunscInstaller(spec: V1PodSpec, volumes: V1Volume[], image: string): void {
  const initContainers = spec.initContainers ?? [];
  if (initContainers.some((c) => c.name === INSTALL_RUNSC_CONTAINER)) return;
  if (!volumes.some((v) => v.name === "fsb-runsc")) {
    volumes.push({ name: "fsb-runsc", hostPath: { path: RUNSC_HOST_DIR, type: "DirectoryOrCreate" } });
  }
  spec.initContainers = [
    ...initContainers,
    {
      name: INSTALL_RUNSC_CONTAINER,
      image,
      command: [INSTALL_RUNSC_SCRIPT, RUNSC_HOST_DIR],
      securityContext: { runAsUser: 0 },
      volumeMounts: [{ name: "fsb-runsc", mountPath: RUNSC_HOST_DIR }],
      resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
    },
  ];
}

/** Label keys Fast Sandbox puts on every containerd container it creates, and the helpers that read them. */
import { invalidArgument } from "./errors.ts";
import { isDnsLabel } from "./names.ts";

/** Prefix of every label key Fast Sandbox owns; nothing outside it is ever written or trusted. */
export const labelPrefix = "sandbox.fast.io/";

/** Value of {@link Labels.ManagedBy} on every container Fast Sandbox creates. */
export const managedByValue = "fast-sandbox";

/**
 * Label and annotation keys on containerd containers. The janitor proves a container is ours with these
 * (managed-by, then sandbox-id or container-id matching the container id; see {@link isManagedContainer})
 * before it deletes anything, and recovery after a restart rebuilds its state from them, so every fact
 * needed for either must be here.
 */
export const Labels = {
  /**
   * The sandbox id. It equals the containerd container id, except for a container taken from the
   * prewarm pool: container ids cannot be renamed, so that one keeps its own id (recorded in
   * {@link Labels.ContainerId}) and gets the sandbox's id here when a create takes it.
   */
  SandboxId: "sandbox.fast.io/sandbox-id",
  /**
   * The containerd container id, on containers made ahead of demand (prewarm), which keep their id when
   * a create takes them and relabels them as its sandbox. Equal to the container id, it proves ownership
   * as sandbox-id does for the others.
   */
  ContainerId: "sandbox.fast.io/container-id",
  /**
   * `true` on a container an agent keeps created but not started for a pool's prewarm template; it has
   * no Sandbox object until a create takes it (and the take removes this label).
   */
  Prewarm: "sandbox.fast.io/prewarm",
  /** The prewarm template key (`prewarmKey`) a prewarmed container was made for: which creates it serves. */
  PrewarmKey: "sandbox.fast.io/prewarm-key",
  /**
   * Digest of the image a prewarmed container was made from; a take compares it with the image's
   * digest now, so an image re-tagged on the node is never served from an old container.
   */
  ImageDigest: "sandbox.fast.io/image-digest",
  /** The user-facing sandbox name, so a container can be traced back to the request that made it. */
  Name: "sandbox.fast.io/name",
  /** The Kubernetes namespace of the sandbox, needed with the name to find its owning object. */
  Namespace: "sandbox.fast.io/namespace",
  /** The Kubernetes UID of the owning object; tells a recreated object of the same name from the original. */
  Uid: "sandbox.fast.io/uid",
  /** The agent (node) that created the container; an agent only reaps containers it created itself. */
  Agent: "sandbox.fast.io/agent",
  /** The warm pool the container was taken from, if any, so pool accounting survives a restart. */
  Pool: "sandbox.fast.io/pool",
  /** The normalized image reference, so a warm container is only handed out for the image it runs. */
  Image: "sandbox.fast.io/image",
  /** The exposed ports, comma-separated (`80,443`); see {@link formatPortsLabel}. */
  Ports: "sandbox.fast.io/ports",
  /**
   * The sandbox's network: `agent`, `none`, or `isolated@<address>`, so a restarted agent gives an
   * isolated sandbox its namespace and rules back (and the janitor knows which namespace is whose).
   */
  Network: "sandbox.fast.io/network",
  /** An isolated sandbox's egress rules, as canonical JSON; absent for the defaults. */
  Egress: "sandbox.fast.io/egress",
  /** Hash of the spec the container was built from; a differing hash means it is stale and must be replaced. */
  SpecHash: "sandbox.fast.io/spec-hash",
  /** Creation time (RFC 3339), so expiry and the janitor's grace period work after a restart. */
  CreatedAt: "sandbox.fast.io/created-at",
  /** Path of the container's log file, so the janitor removes the log together with the container. */
  LogPath: "sandbox.fast.io/log-path",
  /** Always {@link managedByValue}; the first ownership check: without it a container is never touched. */
  ManagedBy: "sandbox.fast.io/managed-by",
  /**
   * What a container that is no sandbox is for. Today one value, {@link anchorRole}: the agent's shim
   * anchor, a minimal long-lived container (no image, no network, no capabilities) that keeps the
   * agent's shared runc shim alive between sandboxes. It takes no slot and never shows in a status;
   * the janitor keeps it while its agent exists and removes it once the agent is gone, as it does
   * prewarmed containers. Its id is {@link anchorContainerId}, which proves ownership with the agent label.
   */
  Role: "sandbox.fast.io/role",
} as const;

/** Value of {@link Labels.Role} on an agent's shim anchor. */
export const anchorRole = "shim-anchor";

/**
 * The container id of agent `agentId`'s shim anchor. The dot keeps it out of the sandbox ids (DNS
 * labels), so no create can collide with it; one per agent and containerd namespace.
 */
export function anchorContainerId(agentId: string): string {
  return `${agentId}.anchor`;
}

/**
 * Whether `labels` mark container `containerId` as the shim anchor of the agent they name: managed-by
 * is ours, the role is {@link anchorRole}, the agent label is a DNS label and the id is that agent's
 * {@link anchorContainerId}. This must hold before an anchor is adopted or removed.
 */
export function isAnchorContainer(
  labels: Readonly<Record<string, string>> | undefined,
  containerId: string,
): boolean {
  if (labels === undefined || labels[Labels.ManagedBy] !== managedByValue) return false;
  if (labels[Labels.Role] !== anchorRole) return false;
  const agentId = labels[Labels.Agent];
  return isDnsLabel(agentId) && containerId === anchorContainerId(agentId);
}

/** One of the {@link Labels} keys. */
export type LabelKey = (typeof Labels)[keyof typeof Labels];

/**
 * Whether `labels` mark a container as created by Fast Sandbox for `containerId`: managed-by is
 * {@link managedByValue}, the sandbox-id label is a DNS label, and either it equals the container id
 * or the container-id label does (a prewarmed container taken by a sandbox of another id). This must
 * hold before anything is deleted.
 */
export function isManagedContainer(
  labels: Readonly<Record<string, string>> | undefined,
  containerId: string,
): boolean {
  if (labels === undefined || labels[Labels.ManagedBy] !== managedByValue) return false;
  const sandboxId = labels[Labels.SandboxId];
  if (!isDnsLabel(sandboxId)) return false;
  return sandboxId === containerId || (isDnsLabel(containerId) && labels[Labels.ContainerId] === containerId);
}

/** Renders ports for {@link Labels.Ports}: `[80, 443]` becomes `80,443`. */
export function formatPortsLabel(ports: readonly number[]): string {
  return ports.join(",");
}

/** Reads {@link Labels.Ports} back; the empty string is no ports. Throws INVALID_ARGUMENT on anything else. */
export function parsePortsLabel(value: string): number[] {
  if (value === "") return [];
  return value.split(",").map((part) => {
    const port = /^[0-9]{1,5}$/.test(part) ? Number(part) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) {
      throw invalidArgument(
        `labels["${Labels.Ports}"]`,
        `${JSON.stringify(part)} is not a port: expected comma-separated port numbers from 1 to 65535`,
      );
    }
    return port;
  });
}

/** The agent's domain view of a sandbox: what was asked for, its state, and how both live in labels. */
import { createHash } from "node:crypto";
import {
  canonicalJson,
  type EgressSpec,
  egressSchema,
  FsbError,
  formatIpv4,
  formatPortsLabel,
  isManagedContainer,
  Labels,
  managedByValue,
  NETWORK_MODES,
  type NetworkModeName,
  parseIpv4,
  parsePortsLabel,
  type Resources,
  type SandboxNetworkSpec,
} from "@fast-sandbox/api";

/** What a create asks the agent to run. The image name is already normalised. */
export interface AgentSandboxSpec {
  sandboxId: string;
  name: string;
  namespace: string;
  uid: string;
  pool: string | undefined;
  image: string;
  command: string[];
  args: string[];
  env: Record<string, string>;
  workingDir: string | undefined;
  exposedPorts: number[];
  resources: Resources;
  /** Mode and egress rules; the agent's default mode when absent. */
  network?: SandboxNetworkSpec;
}

/**
 * Where a sandbox is in the agent's hands. `Creating` and `Deleting` are transient; `Exited`
 * means the init process ended and the container waits for a delete, which frees the slot.
 */
export type AgentSandboxPhase = "Creating" | "Running" | "Exited" | "Deleting";

/** Identity facts recovered from a container's labels after an agent restart. */
export interface SandboxIdentity {
  sandboxId: string;
  /**
   * The containerd container running the sandbox: the sandbox id itself, or the id a prewarmed
   * container kept when this sandbox took it (container ids cannot be renamed).
   */
  containerId: string;
  name: string;
  namespace: string;
  uid: string;
  pool: string;
  image: string;
  exposedPorts: number[];
  specHash: string;
  createdAt: Date;
  logPath: string;
  /** Its network; `address` only in mode isolated. Containers labelled before modes existed are `agent`. */
  network: SandboxNetworkIdentity;
}

/** What identifies a sandbox's network after a restart. */
export interface SandboxNetworkIdentity {
  mode: NetworkModeName;
  address?: number;
  egress?: EgressSpec;
}

/** Renders {@link Labels.Network} and {@link Labels.Egress}. */
export function networkLabels(network: SandboxNetworkIdentity): Record<string, string> {
  const mode =
    network.address === undefined ? network.mode : `${network.mode}@${formatIpv4(network.address)}`;
  return {
    [Labels.Network]: mode,
    ...(network.egress ? { [Labels.Egress]: canonicalJson(network.egress) } : {}),
  };
}

/** Reads the network labels back; undefined when they are not a valid pair. */
export function networkFromLabels(
  labels: Readonly<Record<string, string>>,
): SandboxNetworkIdentity | undefined {
  const [mode = "agent", at] = (labels[Labels.Network] ?? "agent").split("@");
  if (!(NETWORK_MODES as readonly string[]).includes(mode)) return undefined;
  const address = at === undefined ? undefined : parseIpv4(at);
  if ((mode === "isolated") !== (address !== undefined)) return undefined;
  let egress: EgressSpec | undefined;
  const raw = labels[Labels.Egress];
  if (raw !== undefined) {
    const parsed = egressSchema.safeParse(safeJson(raw));
    if (!parsed.success) return undefined;
    egress = parsed.data;
  }
  return {
    mode: mode as NetworkModeName,
    ...(address !== undefined ? { address } : {}),
    ...(egress ? { egress } : {}),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A stable hash of everything the create asked for, so a repeated create of the same id can be
 * told apart from a conflicting one. Keys are sorted so field order on the wire does not matter.
 */
export function specHash(spec: AgentSandboxSpec): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex").slice(0, 32);
}

/** The labels a sandbox's container carries: enough to prove ownership and rebuild state. */
export function sandboxLabels(
  spec: AgentSandboxSpec,
  facts: {
    agentId: string;
    pool: string;
    createdAt: Date;
    logPath: string;
    network?: SandboxNetworkIdentity;
  },
): Record<string, string> {
  return {
    ...networkLabels(facts.network ?? { mode: "agent" }),
    [Labels.ManagedBy]: managedByValue,
    [Labels.SandboxId]: spec.sandboxId,
    [Labels.Name]: spec.name,
    [Labels.Namespace]: spec.namespace,
    [Labels.Uid]: spec.uid,
    [Labels.Agent]: facts.agentId,
    [Labels.Pool]: facts.pool,
    [Labels.Image]: spec.image,
    [Labels.Ports]: formatPortsLabel(spec.exposedPorts),
    [Labels.SpecHash]: specHash(spec),
    [Labels.CreatedAt]: facts.createdAt.toISOString(),
    [Labels.LogPath]: facts.logPath,
  };
}

/**
 * The labels of a prewarmed container once a create has taken it: the sandbox's own labels (as
 * {@link sandboxLabels}, with the log the container was made with) and its container id, which
 * now differs from the sandbox id and proves ownership instead. The prewarm labels are gone.
 */
export function takenPrewarmLabels(
  spec: AgentSandboxSpec,
  facts: {
    agentId: string;
    pool: string;
    createdAt: Date;
    logPath: string;
    containerId: string;
    network?: SandboxNetworkIdentity;
  },
): Record<string, string> {
  return { ...sandboxLabels(spec, facts), [Labels.ContainerId]: facts.containerId };
}

/**
 * Reads the identity of container `id` back from labels; undefined if they are not a complete set
 * of ours (see isManagedContainer: the sandbox id is `id`, or the container-id label is).
 */
export function identityFromLabels(
  id: string,
  labels: Readonly<Record<string, string>>,
): SandboxIdentity | undefined {
  if (!isManagedContainer(labels, id)) return undefined;
  const sandboxId = labels[Labels.SandboxId] ?? "";
  const createdAt = new Date(labels[Labels.CreatedAt] ?? "");
  const logPath = labels[Labels.LogPath] ?? "";
  if (Number.isNaN(createdAt.getTime()) || !logPath.startsWith("/")) return undefined;
  let exposedPorts: number[];
  try {
    exposedPorts = parsePortsLabel(labels[Labels.Ports] ?? "");
  } catch {
    return undefined;
  }
  const network = networkFromLabels(labels);
  if (!network) return undefined;
  return {
    network,
    sandboxId,
    containerId: id,
    name: labels[Labels.Name] ?? "",
    namespace: labels[Labels.Namespace] ?? "",
    uid: labels[Labels.Uid] ?? "",
    pool: labels[Labels.Pool] ?? "",
    image: labels[Labels.Image] ?? "",
    exposedPorts,
    specHash: labels[Labels.SpecHash] ?? "",
    createdAt,
    logPath,
  };
}

/** Lower layers name fields of the sandbox (`command`); the API names them from the request root. */
export function asRequestError(err: unknown): unknown {
  if (!(err instanceof FsbError) || !err.field || err.field.startsWith("sandbox.")) return err;
  return new FsbError(err.code, err.rawMessage, { cause: err, field: `sandbox.${err.field}` });
}

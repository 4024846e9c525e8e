/** Prewarm templates in the agent: which creates they serve, the spec and labels of their containers, and the refill plan (pure). */
import { randomBytes } from "node:crypto";
import { Labels, managedByValue, prewarmKeyOfCreate } from "@fast-sandbox/api";
import {
  type AgentSandboxSpec,
  networkFromLabels,
  networkLabels,
  type SandboxNetworkIdentity,
} from "./sandbox-spec.ts";

/** One template of the desired set (`PUT /api/v1/agent/prewarm`), with its image normalised. */
export interface PrewarmTemplate {
  /** {@link prewarmKey} of image, command, args and env. */
  key: string;
  image: string;
  command: string[];
  args: string[];
  env: Record<string, string>;
  /** How many containers of it to keep ready. */
  count: number;
}

/** A prewarmed container: created, its task waiting in `runc create` until a create starts it. */
export interface WarmContainer {
  containerId: string;
  key: string;
  image: string;
  /** Digest of the image it was made from; a take refuses it if the image has moved on. */
  imageDigest: string;
  /** Fixed when its task was created; the sandbox that takes it keeps writing here. */
  logPath: string;
  /** Made in the agent's default network mode; in isolated mode it holds a namespace already. */
  network: SandboxNetworkIdentity;
}

/**
 * The template key a create can be served under, or undefined when no prewarmed container can be
 * the container it asks for. The key covers image, command, args and env; everything else that
 * shapes the OCI spec (build-oci-spec.ts) must be at its template default: no working directory and
 * no resource limits. The hostname and cgroup path differ by design (the container's, fixed when its
 * task was created); name, namespace, uid, pool and exposed ports live only in labels, which a take
 * rewrites. A test builds both specs and compares them, so a new spec input cannot slip past this.
 */
export function prewarmMatchKey(spec: AgentSandboxSpec): string | undefined {
  return prewarmKeyOfCreate(spec);
}

/** Prefix of prewarmed containers' ids, followed by the first 8 hex of the key and 8 random hex. */
export const PREWARM_ID_PREFIX = "pw-";

/**
 * A fresh id for a prewarmed container of `key`. It is a DNS label like sandbox ids, so its log file
 * (`<id>.log`) and its ownership labels read like any sandbox's; the random part makes a clash with
 * a sandbox id (`<name>-<8 hex>`) as unlikely as two sandboxes' ids clashing.
 */
export function newPrewarmContainerId(key: string): string {
  return `${PREWARM_ID_PREFIX}${key.slice(0, 8)}-${randomBytes(4).toString("hex")}`;
}

/**
 * The sandbox spec a template's containers are built from (by the same buildSandboxOciSpec as any
 * sandbox). The container is its own sandbox until taken, so its hostname is its container id.
 */
export function templateSandboxSpec(template: PrewarmTemplate, containerId: string): AgentSandboxSpec {
  return {
    sandboxId: containerId,
    name: containerId,
    namespace: "",
    uid: "",
    pool: undefined,
    image: template.image,
    command: template.command,
    args: template.args,
    env: template.env,
    workingDir: undefined,
    exposedPorts: [],
    resources: {},
  };
}

/**
 * Labels of a prewarmed container. Its sandbox id is its own container id until a create takes it
 * (then sandbox-id becomes the taker's and container-id keeps proving ownership), so snapshots,
 * bundles and the janitor's ownership rule treat it like any sandbox's container.
 */
export function prewarmLabels(
  warm: WarmContainer,
  facts: { agentId: string; pool: string; createdAt: Date },
): Record<string, string> {
  return {
    [Labels.ManagedBy]: managedByValue,
    [Labels.SandboxId]: warm.containerId,
    [Labels.ContainerId]: warm.containerId,
    [Labels.Prewarm]: "true",
    [Labels.PrewarmKey]: warm.key,
    [Labels.Agent]: facts.agentId,
    [Labels.Pool]: facts.pool,
    [Labels.Image]: warm.image,
    [Labels.ImageDigest]: warm.imageDigest,
    [Labels.CreatedAt]: facts.createdAt.toISOString(),
    [Labels.LogPath]: warm.logPath,
    ...networkLabels(warm.network),
  };
}

/** Reads a prewarmed container back from its labels after a restart; undefined if they are not a complete set. */
export function warmFromLabels(
  id: string,
  labels: Readonly<Record<string, string>>,
): WarmContainer | undefined {
  if (labels[Labels.ManagedBy] !== managedByValue || labels[Labels.Prewarm] !== "true") return undefined;
  if (labels[Labels.ContainerId] !== id || labels[Labels.SandboxId] !== id) return undefined;
  const key = labels[Labels.PrewarmKey] ?? "";
  const logPath = labels[Labels.LogPath] ?? "";
  const image = labels[Labels.Image] ?? "";
  const imageDigest = labels[Labels.ImageDigest] ?? "";
  const network = networkFromLabels(labels);
  if (!/^[0-9a-f]{16}$/.test(key) || !logPath.startsWith("/") || !image || !imageDigest || !network)
    return undefined;
  return { containerId: id, key, image, imageDigest, logPath, network };
}

/** What the refill plan looks at: the desired set and what is ready now. */
export interface PrewarmObserved {
  /** Whether a desired set was pushed since the agent started; until then, adopted containers stay as they are. */
  pushed: boolean;
  /** The desired templates, in the order pushed; `waiting` when a failed create's back-off has not ended. */
  desired: ReadonlyArray<{ key: string; count: number; waiting: boolean }>;
  /** Ready containers per key (any key, desired or not). */
  ready: ReadonlyMap<string, number>;
}

/** The refill worker's next step: remove one ready container of a key, or create one. */
export type PrewarmStep = { action: "remove"; key: string } | { action: "create"; key: string };

/**
 * One step towards the desired set, or undefined when there is nothing to do now. Removals come
 * first (they free what creates would use); then the template missing the most containers gets one
 * more, so templates fill in turns rather than one after another.
 */
export function planPrewarm(observed: PrewarmObserved): PrewarmStep | undefined {
  const desired = new Map(observed.desired.map((t) => [t.key, t]));
  if (observed.pushed) {
    for (const [key, ready] of observed.ready) {
      if (ready > (desired.get(key)?.count ?? 0)) return { action: "remove", key };
    }
  }
  let best: { key: string; missing: number } | undefined;
  for (const t of observed.desired) {
    const missing = t.count - (observed.ready.get(t.key) ?? 0);
    if (missing > 0 && !t.waiting && (!best || missing > best.missing)) best = { key: t.key, missing };
  }
  return best && { action: "create", key: best.key };
}

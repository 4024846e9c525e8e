/** The janitor's verdict on one containerd container: keep it, or remove it as an orphan, and why. */
import { isAnchorContainer, isManagedContainer, Labels } from "@fast-sandbox/api";
import type { ContainerStatus } from "../containerd/container-runtime.ts";
import type { Ownership } from "./ownership.ts";

/** Why a container is an orphan; a metric label, so the set is closed. */
export type OrphanReason =
  /** No Sandbox object has its namespace and name. */
  | "object-gone"
  /** An object of that name exists, but it is a different object (a different uid). */
  | "uid-mismatch"
  /** The object is the same, but its current incarnation is another container (or none). */
  | "stale-incarnation"
  /** The agent that created it no longer exists. */
  | "agent-gone";

/** Why a container is kept. */
export type KeepReason =
  /**
   * Not provably ours (managed-by, and sandbox-id or container-id = container id, or the anchor id of
   * the agent it names): never touched.
   */
  | "not-managed"
  /** Younger than the orphan timeout: its object may simply not be written yet. */
  | "young"
  /** A prewarmed container of an agent that exists. */
  | "prewarm"
  /** The shim anchor of an agent that exists. */
  | "anchor"
  /** Its object's current incarnation. */
  | "owned";

export type Verdict = { action: "keep"; reason: KeepReason } | { action: "orphan"; reason: OrphanReason };

/** Options of {@link classify}. */
export interface ClassifyOptions {
  orphanTimeoutMs: number;
}

/** What classification reads of a container. */
export type ClassifiedContainer = Pick<ContainerStatus, "id" | "labels" | "createdAt">;

/**
 * Decides whether `container` is an orphan. Pure: `ownership` is one read of the control plane's
 * view and `now` the clock (ms). Only a container provably ours and older than the orphan timeout
 * can be an orphan; see the reasons for the rest. A container is judged as the sandbox its
 * sandbox-id label names: for a prewarmed container that a create took, that is the sandbox it now
 * runs, not its own container id; one not taken yet is kept while its agent exists. An agent's shim
 * anchor is kept while its agent exists too, and removed once the agent is gone: nothing else would
 * ever stop it, and it keeps a shim process alive.
 */
export function classify(
  container: ClassifiedContainer,
  ownership: Ownership,
  now: number,
  options: ClassifyOptions,
): Verdict {
  const { id, labels } = container;
  const anchor = isAnchorContainer(labels, id);
  if (!anchor && !isManagedContainer(labels, id)) return keep("not-managed");
  const createdAt = createdAtOf(container);
  // An age we cannot establish is no proof of orphanhood.
  if (createdAt === undefined || now - createdAt < options.orphanTimeoutMs) return keep("young");
  if (!ownership.hasAgent(labels[Labels.Agent] ?? "")) return orphan("agent-gone");
  if (anchor) return keep("anchor");
  if (labels[Labels.Prewarm] === "true") return keep("prewarm");

  // An empty uid label is a fast-mode create labelled before its object got a uid: not a mismatch.
  const uid = labels[Labels.Uid] ?? "";
  const differentObject = (objectUid: string) => uid !== "" && objectUid !== "" && uid !== objectUid;
  // isManagedContainer proved the label a DNS label; it differs from `id` for a taken prewarmed container.
  const current = ownership.ownerOfContainer(labels[Labels.SandboxId] ?? id);
  if (current) return differentObject(current.uid) ? orphan("uid-mismatch") : keep("owned");
  const named = ownership.byName(labels[Labels.Namespace] ?? "", labels[Labels.Name] ?? "");
  if (!named) return orphan("object-gone");
  if (differentObject(named.uid)) return orphan("uid-mismatch");
  return orphan("stale-incarnation");
}

/** The created-at label (RFC 3339), falling back to containerd's own creation time; ms since the epoch. */
export function createdAtOf(container: Pick<ContainerStatus, "labels" | "createdAt">): number | undefined {
  const labelled = Date.parse(container.labels[Labels.CreatedAt] ?? "");
  if (!Number.isNaN(labelled)) return labelled;
  return container.createdAt?.getTime();
}

/** Whether two verdicts agree, so a fresh re-check confirms the first one. */
export function sameVerdict(a: Verdict, b: Verdict): boolean {
  return a.action === b.action && a.reason === b.reason;
}

function keep(reason: KeepReason): Verdict {
  return { action: "keep", reason };
}

function orphan(reason: OrphanReason): Verdict {
  return { action: "orphan", reason };
}

/** What a starting agent does with each container it finds labelled as its own (pure). */
import { isAnchorContainer, Labels } from "@fast-sandbox/api";
import type { ContainerStatus } from "../containerd/container-runtime.ts";
import { type SandboxRecord, stateFromTask } from "./sandbox-record.ts";
import { identityFromLabels } from "./sandbox-spec.ts";

/** The verdict on one found container. */
export type AdoptionVerdict =
  /** A sandbox that runs (or ran and exited): tracked again, its slot taken. */
  | { action: "track"; record: SandboxRecord }
  /** A prewarmed container: the prewarm pool decides. */
  | { action: "prewarm" }
  /** The agent's shim anchor: the anchor keeper decides. */
  | { action: "anchor" }
  /** A crash mid-create left it without a task, or with a task never started: its create never answered. */
  | { action: "remove"; sandboxId: string; logPath: string }
  /** Labels that are not a complete set of ours: never touched here, the janitor judges it. */
  | { action: "leave" };

/**
 * Decides what to do with a container found at start-up. A prewarmed container relabelled for a
 * create that did not finish is a half-made sandbox like any other (its task was never started).
 */
export function adoptionVerdict(container: ContainerStatus): AdoptionVerdict {
  if (isAnchorContainer(container.labels, container.id)) return { action: "anchor" };
  if (container.labels[Labels.Prewarm] === "true") return { action: "prewarm" };
  const identity = identityFromLabels(container.id, container.labels);
  if (!identity) return { action: "leave" };
  if (container.task.state === "missing" || container.task.state === "created") {
    return { action: "remove", sandboxId: identity.sandboxId, logPath: identity.logPath };
  }
  return { action: "track", record: { identity, ...stateFromTask(container) } };
}

/** Verdicts on what removed sandboxes leave besides containers: log files, bundle directories, snapshots. */
import { isDnsLabel, Labels, managedByValue } from "@fast-sandbox/api";
import { agentCgroupsPath, shimGroup } from "../containerd/agent-grouping.ts";
import { SHIM_GROUP_ANNOTATION } from "../containerd/spec-options.ts";
import type { Ownership } from "./ownership.ts";

/**
 * Label the runtime stamps (with the ISO time of the prepare) on every snapshot it makes: see
 * ContainerRuntime#prepareSnapshot. It doubles as the snapshot's creation time.
 */
export const SNAPSHOT_GC_ROOT_LABEL = "containerd.io/gc.root";

/** Why a leftover stays. */
export type LeftoverKeepReason =
  /** Nothing proves it was made by Fast Sandbox. */
  | "not-ours"
  /** Younger than its grace (log retention, orphan timeout), or of unknown age. */
  | "young"
  /** Its container still exists. */
  | "has-container"
  /** A Sandbox object still points at its sandbox (a Failed sandbox keeps its log until deleted). */
  | "owned"
  /** Something is still mounted under it (a shim that died mid-create): removing it would reach into a rootfs. */
  | "mounted";

export type LeftoverVerdict = { action: "keep"; reason: LeftoverKeepReason } | { action: "remove" };

/** A file in the agents' log directory. */
export interface LogFileFacts {
  /** The sandbox id its name carries (`<sandboxId>.log`). */
  sandboxId: string;
  modifiedAtMs: number;
}

/** The sandbox id a log file is named after, or undefined if the name is not `<sandbox id>.log`. */
export function logFileSandboxId(fileName: string): string | undefined {
  const id = fileName.endsWith(".log") ? fileName.slice(0, -".log".length) : "";
  return isDnsLabel(id) ? id : undefined;
}

/** A log file goes once it is past retention, its container is gone and no object points at its sandbox. */
export function classifyLogFile(
  file: LogFileFacts,
  containerIds: ReadonlySet<string>,
  ownership: Ownership,
  now: number,
  options: { retentionMs: number },
): LeftoverVerdict {
  if (now - file.modifiedAtMs < options.retentionMs) return keep("young");
  if (containerIds.has(file.sandboxId)) return keep("has-container");
  if (ownership.ownerOfContainer(file.sandboxId)) return keep("owned");
  return { action: "remove" };
}

/** A task bundle directory (`<state>/io.containerd.runtime.v2.task/<ns>/<id>`). */
export interface BundleFacts {
  id: string;
  modifiedAtMs: number;
  /** The parsed `config.json` (the OCI spec), or undefined if it is missing or not JSON. */
  spec: unknown;
  /** Whether anything is mounted at or under the directory. */
  mounted: boolean;
}

/**
 * A bundle goes when its container is gone and its spec proves it ours: the shim group annotation
 * and the cgroups path that build-oci-spec.ts gives every sandbox, naming the same agent.
 */
export function classifyBundle(
  bundle: BundleFacts,
  containerIds: ReadonlySet<string>,
  now: number,
  options: { orphanTimeoutMs: number },
): LeftoverVerdict {
  if (!isOurBundleSpec(bundle.spec, bundle.id)) return keep("not-ours");
  if (containerIds.has(bundle.id)) return keep("has-container");
  if (now - bundle.modifiedAtMs < options.orphanTimeoutMs) return keep("young");
  if (bundle.mounted) return keep("mounted");
  return { action: "remove" };
}

/** Whether an OCI spec is one an agent built for sandbox `id`. */
export function isOurBundleSpec(spec: unknown, id: string): boolean {
  const s = spec as { annotations?: Record<string, unknown>; linux?: { cgroupsPath?: unknown } } | undefined;
  const group = s?.annotations?.[SHIM_GROUP_ANNOTATION];
  if (typeof group !== "string") return false;
  const agentId = group.slice(shimGroup("").length);
  return (
    isDnsLabel(agentId) &&
    group === shimGroup(agentId) &&
    s?.linux?.cgroupsPath === agentCgroupsPath(agentId, id)
  );
}

/** A snapshot in the agents' snapshotter. */
export interface SnapshotFacts {
  key: string;
  labels: Readonly<Record<string, string>>;
}

/**
 * A snapshot goes when it carries our ownership labels for its own key and has no container: a
 * crash between Snapshots.Prepare and Containers.Create leaves exactly that.
 */
export function classifySnapshot(
  snapshot: SnapshotFacts,
  containerIds: ReadonlySet<string>,
  now: number,
  options: { orphanTimeoutMs: number },
): LeftoverVerdict {
  const { key, labels } = snapshot;
  if (labels[Labels.ManagedBy] !== managedByValue || labels[Labels.SandboxId] !== key)
    return keep("not-ours");
  if (containerIds.has(key)) return keep("has-container");
  const preparedAt = Date.parse(labels[SNAPSHOT_GC_ROOT_LABEL] ?? "");
  if (Number.isNaN(preparedAt) || now - preparedAt < options.orphanTimeoutMs) return keep("young");
  return { action: "remove" };
}

function keep(reason: LeftoverKeepReason): LeftoverVerdict {
  return { action: "keep", reason };
}

/** fsb-janitor's flags and environment, parsed and validated with no side effects. */

import os from "node:os";
import { ErrorCode, FsbError, invalidArgument } from "@fast-sandbox/api";
import { DEFAULT_NETWORK_STATE_DIR } from "../agent/agent-config.ts";
import type { BindAddress } from "../core/bind-address.ts";
import { type Env, type ReadFile, requireToken } from "../core/config-values.ts";
import {
  absolute,
  address,
  choice,
  duration,
  flag,
  httpUrl,
  logFormat,
  logLevel,
  text,
  toggle,
} from "../core/flag-rows.ts";
import { type FlagValues, flagCommand, type ParsedArgs, parseCommandLine } from "../core/flag-table.ts";
import type { LogFormat } from "../core/logger.ts";
import { DEFAULT_LOG_DIR } from "../core/sandbox-log-dir.ts";

/** Where the janitor learns who owns what (see ownership.ts). */
export type OwnershipMode = "controller" | "kubernetes";
const OWNERSHIP_MODES: readonly OwnershipMode[] = ["controller", "kubernetes"];

export interface JanitorConfig {
  containerdSocket: string;
  containerdNamespace: string;
  /** containerd's state directory, where task bundles live. */
  containerdState: string;
  snapshotter: string;
  /** The node this janitor cleans; it names the node in logs. */
  nodeName: string;
  orphanTimeoutMs: number;
  scanIntervalMs: number;
  /** Report what would be removed; remove nothing. */
  dryRun: boolean;
  metrics: BindAddress;
  /** `controller`: its API answers; `kubernetes`: Sandbox objects and this node's agent Pods on the API server. */
  ownership: OwnershipMode;
  /** The kubeconfig for `kubernetes` ownership; undefined = KUBECONFIG, the service account, ~/.kube/config. */
  kubeconfig: string | undefined;
  /**
   * The controller's API. Required for `controller` ownership; with `kubernetes`, optional: the agents
   * it knows (self-registered ones without a Pod) then count too.
   */
  controllerUrl: string | undefined;
  token: string | undefined;
  insecure: boolean;
  /** The agents' sandbox log directory. */
  logDir: string;
  logRetentionMs: number;
  /** Where the node's agents claim their subnets; their leftover networks are swept from here. */
  networkStateDir: string;
  logLevel: string;
  logFormat: LogFormat;
}

/** Shorter than this, a container whose object is being written could look orphaned. */
const MIN_ORPHAN_TIMEOUT_MS = 1000;
/** Scans list every container of the namespace; more often than this only adds load. */
const MIN_SCAN_INTERVAL_MS = 1000;

const flags = {
  ownership: choice(
    "MODE",
    "who says what is owned: controller (its API) or kubernetes (the API server: Sandbox objects and the agent Pods on this node)",
    OWNERSHIP_MODES,
    `one of ${OWNERSHIP_MODES.join(", ")}`,
    { default: "controller" },
  ),
  kubeconfig: text("PATH", "kubeconfig for --ownership kubernetes", {
    shows: "KUBECONFIG, the Pod's service account, ~/.kube/config",
  }),
  "controller-url": httpUrl(
    "the controller's API; required with --ownership controller; with kubernetes, agents it knows (self-registered, no Pod) count too",
    { env: ["FSB_CONTROLLER_URL"], blankIsUnset: true },
  ),
  "token-file": text("PATH", "the controller's API token (or env FSB_TOKEN)"),
  insecure: toggle("call the controller without a token (development only)"),
  "containerd-socket": absolute("PATH", "containerd socket", { default: "/run/containerd/containerd.sock" }),
  "containerd-namespace": flag("NS", "containerd namespace of the agents", namespaceName, {
    default: "k8s.io",
  }),
  "containerd-state": absolute("DIR", "containerd state directory, for task bundles", {
    default: "/run/containerd",
  }),
  snapshotter: text("NAME", "the agents' snapshotter", { default: "overlayfs" }),
  "node-name": text("NAME", "this node", { env: ["NODE_NAME"], shows: "the hostname" }),
  "orphan-timeout": duration("never remove anything younger than D", {
    default: "10s",
    atLeastMs: MIN_ORPHAN_TIMEOUT_MS,
  }),
  "scan-interval": duration("time between scans", { default: "30s", atLeastMs: MIN_SCAN_INTERVAL_MS }),
  "log-dir": absolute("DIR", "the agents' sandbox log directory", { default: DEFAULT_LOG_DIR }),
  "log-retention": duration("keep a removed sandbox's log file this long after its last write", {
    default: "1h",
  }),
  "network-state-dir": absolute("DIR", "where the node's agents claim their sandbox subnets", {
    default: DEFAULT_NETWORK_STATE_DIR,
  }),
  "dry-run": toggle("report orphans and leftovers, remove nothing"),
  "metrics-bind-address": address("Prometheus endpoint", { default: ":9093" }),
  "log-level": logLevel(),
  "log-format": logFormat(),
};

const command = flagCommand(
  `Usage: fsb-janitor [flags]

Removes what Fast Sandbox left on this node: orphan containers (no Sandbox object, a different
object of the same name, a stale incarnation, or an agent that is gone), snapshots without a
container, log files past retention and bundle directories of failed creates. It only ever
touches containers labelled managed-by fast-sandbox whose sandbox-id label is their own id.`,
  flags,
);
export const usage = command.usage;

/** Parsed command line: either a configuration or a request for help. */
export type ParsedJanitorArgs = ParsedArgs<JanitorConfig>;

/** Parses flags and environment; `readFile` reads the token file (injected, so this stays pure). */
export function parseJanitorConfig(argv: readonly string[], env: Env, readFile: ReadFile): ParsedJanitorArgs {
  return parseCommandLine(command, argv, env, (v) => janitorConfig(v, env, readFile));
}

/** The configuration from the flags' values: ownership decides whether a controller and a token are needed. */
function janitorConfig(v: FlagValues<typeof flags>, env: Env, readFile: ReadFile): JanitorConfig {
  const { ownership, kubeconfig } = v;
  if (kubeconfig !== undefined && ownership !== "kubernetes") {
    throw invalidArgument("--kubeconfig", "is only read with --ownership kubernetes");
  }
  const controllerUrl = v["controller-url"];
  if (controllerUrl === undefined && ownership === "controller") {
    throw new FsbError(
      ErrorCode.FailedPrecondition,
      "no controller: set --controller-url or FSB_CONTROLLER_URL, or use --ownership kubernetes (the janitor removes nothing it cannot prove unowned)",
    );
  }
  const insecure = v.insecure;
  // A token is needed only to call a controller.
  const token =
    controllerUrl === undefined
      ? undefined
      : requireToken({ file: v["token-file"], envName: "FSB_TOKEN", insecure }, env, readFile);
  const { "orphan-timeout": orphanTimeoutMs, "scan-interval": scanIntervalMs } = v;
  const containerdNamespace = v["containerd-namespace"];

  return {
    containerdSocket: v["containerd-socket"],
    containerdNamespace,
    containerdState: v["containerd-state"],
    snapshotter: v.snapshotter,
    nodeName: v["node-name"] ?? os.hostname(),
    orphanTimeoutMs,
    scanIntervalMs,
    dryRun: v["dry-run"],
    metrics: v["metrics-bind-address"],
    ownership,
    kubeconfig,
    controllerUrl,
    token,
    insecure: insecure && controllerUrl !== undefined && !token,
    logDir: v["log-dir"],
    logRetentionMs: v["log-retention"],
    networkStateDir: v["network-state-dir"],
    logLevel: v["log-level"],
    logFormat: v["log-format"],
  };
}

/** A containerd namespace: not empty, no slash (it names a directory). */
function namespaceName(raw: string, field: string): string {
  if (raw === "" || raw.includes("/")) throw invalidArgument(field, `"${raw}" is not a namespace`);
  return raw;
}

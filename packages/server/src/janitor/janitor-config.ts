/** fsb-janitor's flags and environment, parsed and validated with no side effects. */
import os from "node:os";
import { ErrorCode, FsbError, invalidArgument } from "@fast-sandbox/api";
import { DEFAULT_LOG_DIR } from "../agent/agent-config.ts";
import { type BindAddress, bindAddress } from "../core/bind-address.ts";
import { absolutePath, parseFlags, requireToken } from "../core/config-values.ts";
import { parseDuration } from "../core/duration.ts";

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
  logLevel: string;
}

/** Shorter than this, a container whose object is being written could look orphaned. */
const MIN_ORPHAN_TIMEOUT_MS = 1000;
/** Scans list every container of the namespace; more often than this only adds load. */
const MIN_SCAN_INTERVAL_MS = 1000;

export const usage = `Usage: fsb-janitor [flags]

Removes what Fast Sandbox left on this node: orphan containers (no Sandbox object, a different
object of the same name, a stale incarnation, or an agent that is gone), snapshots without a
container, log files past retention and bundle directories of failed creates. It only ever
touches containers labelled managed-by fast-sandbox whose sandbox-id label is their own id.

Flags:
  --ownership MODE              who says what is owned: controller (its API; default) or kubernetes (the
                                API server: Sandbox objects and the agent Pods on this node)
  --kubeconfig PATH             kubeconfig for --ownership kubernetes (default: KUBECONFIG, the Pod's
                                service account, ~/.kube/config)
  --controller-url URL          the controller's API (env FSB_CONTROLLER_URL); required with --ownership
                                controller; with kubernetes, agents it knows (self-registered, no Pod) count too
  --token-file PATH             the controller's API token (or env FSB_TOKEN)
  --insecure                    call the controller without a token (development only)
  --containerd-socket PATH      containerd socket (default /run/containerd/containerd.sock)
  --containerd-namespace NS     containerd namespace of the agents (default k8s.io)
  --containerd-state DIR        containerd state directory, for task bundles (default /run/containerd)
  --snapshotter NAME            the agents' snapshotter (default overlayfs)
  --node-name NAME              this node (env NODE_NAME; default the hostname)
  --orphan-timeout D            never remove anything younger than D (default 10s)
  --scan-interval D             time between scans (default 30s)
  --log-dir DIR                 the agents' sandbox log directory (default ${DEFAULT_LOG_DIR})
  --log-retention D             keep a removed sandbox's log file this long after its last write (default 1h)
  --dry-run                     report orphans and leftovers, remove nothing
  --metrics-bind-address ADDR   Prometheus endpoint (default :9093)
  --log-level LEVEL             pino log level (default info)
  -h, --help                    show this help
`;

export type ParsedJanitorArgs = { help: true; usage: string } | { help: false; config: JanitorConfig };

export function parseJanitorConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string,
): ParsedJanitorArgs {
  const flags = parseFlags(
    argv,
    {
      strings: [
        "ownership",
        "kubeconfig",
        "controller-url",
        "token-file",
        "containerd-socket",
        "containerd-namespace",
        "containerd-state",
        "snapshotter",
        "node-name",
        "orphan-timeout",
        "scan-interval",
        "log-dir",
        "log-retention",
        "metrics-bind-address",
        "log-level",
      ],
      booleans: ["insecure", "dry-run"],
    },
    usage,
  );
  if (flags.help) return { help: true, usage };
  const flag = flags.string;

  const ownership = (flag("ownership") ?? "controller") as OwnershipMode;
  if (!OWNERSHIP_MODES.includes(ownership)) {
    throw invalidArgument("--ownership", `"${ownership}" is not one of ${OWNERSHIP_MODES.join(", ")}`);
  }
  const kubeconfig = flag("kubeconfig");
  if (kubeconfig !== undefined && ownership !== "kubernetes") {
    throw invalidArgument("--kubeconfig", "is only read with --ownership kubernetes");
  }
  const controllerUrl = (flag("controller-url") ?? env.FSB_CONTROLLER_URL) || undefined;
  if (controllerUrl === undefined && ownership === "controller") {
    throw new FsbError(
      ErrorCode.FailedPrecondition,
      "no controller: set --controller-url or FSB_CONTROLLER_URL, or use --ownership kubernetes (the janitor removes nothing it cannot prove unowned)",
    );
  }
  if (controllerUrl !== undefined && !/^https?:\/\/[^/]+/.test(controllerUrl)) {
    throw invalidArgument("--controller-url", `"${controllerUrl}" is not an http(s) URL`);
  }
  const insecure = flags.bool("insecure");
  // A token is needed only to call a controller.
  const token =
    controllerUrl === undefined
      ? undefined
      : requireToken({ file: flag("token-file"), envName: "FSB_TOKEN", insecure }, env, readFile);
  const orphanTimeoutMs = parseDuration(flag("orphan-timeout") ?? "10s", "--orphan-timeout");
  if (orphanTimeoutMs < MIN_ORPHAN_TIMEOUT_MS) {
    throw invalidArgument("--orphan-timeout", `must be at least ${MIN_ORPHAN_TIMEOUT_MS} ms`);
  }
  const scanIntervalMs = parseDuration(flag("scan-interval") ?? "30s", "--scan-interval");
  if (scanIntervalMs < MIN_SCAN_INTERVAL_MS) {
    throw invalidArgument("--scan-interval", `must be at least ${MIN_SCAN_INTERVAL_MS} ms`);
  }
  const containerdNamespace = flag("containerd-namespace") ?? "k8s.io";
  if (containerdNamespace === "" || containerdNamespace.includes("/")) {
    throw invalidArgument("--containerd-namespace", `"${containerdNamespace}" is not a namespace`);
  }

  return {
    help: false,
    config: {
      containerdSocket: absolutePath(
        flag("containerd-socket") ?? "/run/containerd/containerd.sock",
        "--containerd-socket",
      ),
      containerdNamespace,
      containerdState: absolutePath(flag("containerd-state") ?? "/run/containerd", "--containerd-state"),
      snapshotter: flag("snapshotter") ?? "overlayfs",
      nodeName: flag("node-name") ?? env.NODE_NAME ?? os.hostname(),
      orphanTimeoutMs,
      scanIntervalMs,
      dryRun: flags.bool("dry-run"),
      metrics: bindAddress(flag("metrics-bind-address") ?? ":9093", "--metrics-bind-address"),
      ownership,
      kubeconfig,
      controllerUrl,
      token,
      insecure: insecure && controllerUrl !== undefined && !token,
      logDir: absolutePath(flag("log-dir") ?? DEFAULT_LOG_DIR, "--log-dir"),
      logRetentionMs: parseDuration(flag("log-retention") ?? "1h", "--log-retention"),
      logLevel: flag("log-level") ?? env.LOG_LEVEL ?? "info",
    },
  };
}

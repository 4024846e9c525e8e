/** fsb-controller's flags and environment, parsed and validated with no side effects. */
import {
  type ConsistencyMode,
  DEFAULT_NETWORK_MODE,
  invalidArgument,
  isDnsLabel,
  NETWORK_MODES,
  type NetworkModeName,
  PoolDefaults,
  PoolLimits,
} from "@fast-sandbox/api";
import type { BindAddress } from "../core/bind-address.ts";
import { type Env, type ReadFile, readToken, requireToken } from "../core/config-values.ts";
import {
  absolute,
  address,
  choice,
  duration,
  flag,
  int,
  label,
  logFormat,
  logLevel,
  text,
  toggle,
} from "../core/flag-rows.ts";
import { type FlagValues, flagCommand, type ParsedArgs, parseCommandLine } from "../core/flag-table.ts";
import type { LogFormat } from "../core/logger.ts";
import {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
} from "../kube/leader-election.ts";

export interface ControllerConfig {
  api: BindAddress;
  metrics: BindAddress;
  health: BindAddress;
  /**
   * Port agents listen on: local agents take this one and the next ones (0 = any free port);
   * in Kubernetes mode, the port the controller calls on each agent Pod.
   */
  agentPort: number;
  consistencyMode: ConsistencyMode;
  orphanTimeoutMs: number;
  probeIntervalMs: number;
  lossTimeoutMs: number;
  dataDir: string;
  token: string | undefined;
  insecure: boolean;
  agentToken: string | undefined;
  workers: number;
  logLevel: string;
  logFormat: LogFormat;
  /** How the pool controller starts agents: local processes (standalone), Pods, or not at all. */
  agentLauncher: "local" | "kubernetes" | "none";
  /**
   * The pool `pool`/`poolNamespace` to create at start when it does not exist yet (from
   * `--local-agents` and friends); later changes come through the API or the store.
   */
  seedPool: SeedPool | undefined;
  pool: string;
  poolNamespace: string;
  /** Local agents of the seed pool are named `<prefix>-<n>` (other pools `<prefix>-<pool>-<n>`); unset: by pool name. */
  localAgentPrefix: string | undefined;
  containerdSocket: string;
  containerdNamespace: string;
  agentLogDir: string;
  /** Where objects live: the embedded SQLite store, or the Kubernetes API (CRDs). */
  store: "sqlite" | "kubernetes";
  /** Kubeconfig file (else KUBECONFIG, in-cluster, ~/.kube/config). */
  kubeconfig: string | undefined;
  /** Run reconcilers only while holding the Lease; other replicas wait and answer UNAVAILABLE. */
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  /** The election's timings (kube-controller-manager's flag names); see leader-election.ts. */
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Kubernetes launcher: image of agent Pods whose template names none. */
  agentImage: string;
  /** Kubernetes launcher: the Secret whose `agent-token` key agent Pods get as FSB_AGENT_TOKEN. */
  agentTokenSecret: string;
  /** Kubernetes launcher: the ServiceAccount of agent Pods. */
  agentServiceAccount: string;
}

const CONSISTENCY_MODES: readonly ConsistencyMode[] = ["fast", "strong"];
const AGENT_LAUNCHERS: readonly ControllerConfig["agentLauncher"][] = ["local", "kubernetes", "none"];
const STORES: readonly ControllerConfig["store"][] = ["sqlite", "kubernetes"];

/** The spec of the pool created at start. */
export interface SeedPool {
  poolMin: number;
  poolMax: number;
  bufferMin: number;
  bufferMax: number;
  maxSandboxesPerPod: number;
  /** The network mode of its sandboxes. */
  networkMode: NetworkModeName;
}

const flags = {
  "api-bind-address": address("Fast-Path API: gRPC, gRPC-Web and Connect", { default: ":9090" }),
  "agent-port": int("PORT", "agent HTTP port; local agents use PORT, PORT+1, ...; 0 = any free port", {
    default: 5758,
    min: 0,
    max: 65535,
  }),
  "metrics-bind-address": address("Prometheus endpoint", { default: ":9091" }),
  "health-probe-bind-address": address("/healthz and /readyz", { default: ":5758" }),
  "fastpath-consistency-mode": choice("M", "fast or strong", CONSISTENCY_MODES, "fast or strong", {
    default: "fast",
  }),
  "fastpath-orphan-timeout": duration("undo a fast create not recorded within D", { default: "10s" }),
  "agent-probe-interval": duration("how often agents are probed for liveness and asked for their status", {
    default: "2s",
  }),
  "agent-loss-timeout": duration("silence after which an agent is lost, with 3 failed probes in a row", {
    default: "15s",
  }),
  "data-dir": absolute("DIR", "embedded store directory", { default: "/var/lib/fast-sandbox" }),
  "token-file": text("PATH", "API bearer token (or env FSB_TOKEN)"),
  insecure: toggle("serve without a token (development only)"),
  "agent-token-file": text("PATH", "token for calling agents (or env FSB_AGENT_TOKEN)"),
  workers: int("N", "concurrent reconciles", { default: 8, min: 1, max: 256 }),
  "agent-launcher": choice(
    "KIND",
    "how pools get agents: local (processes), kubernetes (Pods) or none",
    AGENT_LAUNCHERS,
    "local, kubernetes or none",
    { shows: "kubernetes with the Kubernetes store, else local" },
  ),
  "local-agents": int("N", "create the --pool pool at start, if absent, with poolMin N; 0: none", {
    default: 0,
    min: 0,
    max: PoolLimits.maxAgents,
  }),
  "pool-max": int("N", "its poolMax", {
    shows: "the same as --local-agents",
    min: 1,
    max: PoolLimits.maxAgents,
  }),
  "pool-network": choice(
    "isolated|none|agent",
    "its network mode: own address and firewall, loopback only, or the agent's network",
    NETWORK_MODES,
    "one of isolated, none, agent",
    { default: DEFAULT_NETWORK_MODE },
  ),
  "pool-buffer-min": int("N", "its bufferMin: free slots kept ready", {
    default: 0,
    min: 0,
    max: PoolLimits.maxBuffer,
  }),
  "pool-buffer-max": int("N", "its bufferMax: free slots above which agents drain", {
    shows: `${PoolDefaults.bufferMax}, or --pool-buffer-min if more`,
    min: 0,
    max: PoolLimits.maxBuffer,
  }),
  "local-agent-capacity": int("N", "its maxSandboxesPerPod, each agent's AGENT_CAPACITY", {
    default: PoolDefaults.maxSandboxesPerPod,
    min: 1,
    max: PoolLimits.maxSandboxesPerPod,
  }),
  pool: label("NAME", "the pool created at start", { default: "default-pool" }),
  "pool-namespace": label("NS", "namespace of that pool", { default: "default" }),
  "local-agent-prefix": flag(
    "P",
    "local agents are named P-0, P-1, ... (other pools P-<pool>-0)",
    localAgentPrefix,
    { shows: "by pool name" },
  ),
  "containerd-socket": absolute("PATH", "containerd socket for local agents", {
    default: "/run/containerd/containerd.sock",
  }),
  "containerd-namespace": text("NS", "containerd namespace for local agents", { default: "k8s.io" }),
  "agent-log-dir": absolute("DIR", "log directory for local agents", { shows: "<data-dir>/logs" }),
  store: choice("KIND", "sqlite (embedded) or kubernetes (CRDs)", STORES, "sqlite or kubernetes", {
    shows: "kubernetes in a Pod, else sqlite",
  }),
  kubeconfig: text("PATH", "kubeconfig (else KUBECONFIG, the Pod's service account, ~/.kube/config)"),
  "leader-elect": toggle("reconcile only while holding a coordination.k8s.io Lease (Kubernetes store)"),
  "leader-election-namespace": label("NS", "namespace of the Lease", {
    env: ["POD_NAMESPACE"],
    default: "default",
  }),
  "leader-election-id": label("NAME", "name of the Lease", { default: "fast-sandbox-controller" }),
  "leader-elect-lease-duration": duration("how long followers wait for a silent leader's Lease to expire", {
    default: `${DEFAULT_LEASE_DURATION_MS / 1000}s`,
    atLeastMs: 1000,
  }),
  "leader-elect-renew-deadline": duration("how long a leader that cannot renew keeps leading", {
    default: `${DEFAULT_RENEW_DEADLINE_MS / 1000}s`,
  }),
  "leader-elect-retry-period": duration("how often the Lease is renewed or tried", {
    default: `${DEFAULT_RETRY_PERIOD_MS / 1000}s`,
  }),
  "agent-image": text("IMAGE", "image of agent Pods", {
    env: ["FSB_AGENT_IMAGE"],
    default: "fast-sandbox:0.1.0",
  }),
  "agent-token-secret": label("NAME", "Secret with the agents' token, key agent-token", {
    default: "fast-sandbox-tokens",
  }),
  "agent-service-account": label("NAME", "ServiceAccount of agent Pods", { default: "fast-sandbox-agent" }),
  "log-level": logLevel(),
  "log-format": logFormat(),
};
type ControllerFlags = FlagValues<typeof flags>;

const command = flagCommand(
  `Usage: fsb-controller [flags]

Runs the Fast Sandbox control plane: the Fast-Path API, the scheduler and the reconcilers.`,
  flags,
);
export const usage = command.usage;

/** Parsed command line: either a configuration or a request for help. */
export type ParsedControllerArgs = ParsedArgs<ControllerConfig>;

/** Parses flags and environment; `readFile` reads the token files (injected, so this stays pure). */
export function parseControllerConfig(
  argv: readonly string[],
  env: Env,
  readFile: ReadFile,
): ParsedControllerArgs {
  return parseCommandLine(command, argv, env, (v) => controllerConfig(v, env, readFile));
}

/** The configuration from the flags' values, checked against each other. */
function controllerConfig(v: ControllerFlags, env: Env, readFile: ReadFile): ControllerConfig {
  const mode = v["fastpath-consistency-mode"];
  const insecure = v.insecure;
  const token = requireToken({ file: v["token-file"], envName: "FSB_TOKEN", insecure }, env, readFile);
  const agentToken = readToken(v["agent-token-file"], env.FSB_AGENT_TOKEN, readFile);
  const { pool, "pool-namespace": poolNamespace, "data-dir": dataDir } = v;
  const store = v.store ?? (env.KUBERNETES_SERVICE_HOST ? "kubernetes" : "sqlite");
  const leaderElect = v["leader-elect"];
  if (leaderElect && store !== "kubernetes") {
    throw invalidArgument("--leader-elect", "needs --store kubernetes (the Lease lives in the cluster)");
  }
  const election = electionTimings(v);
  const probeIntervalMs = v["agent-probe-interval"];
  const lossTimeoutMs = v["agent-loss-timeout"];
  if (lossTimeoutMs <= probeIntervalMs) {
    throw invalidArgument("--agent-loss-timeout", "must be longer than --agent-probe-interval");
  }

  return {
    api: v["api-bind-address"],
    metrics: v["metrics-bind-address"],
    health: v["health-probe-bind-address"],
    agentPort: v["agent-port"],
    consistencyMode: mode,
    orphanTimeoutMs: v["fastpath-orphan-timeout"],
    probeIntervalMs,
    lossTimeoutMs,
    dataDir,
    token,
    insecure: insecure && !token,
    agentToken,
    workers: v.workers,
    logLevel: v["log-level"],
    logFormat: v["log-format"],
    agentLauncher: v["agent-launcher"] ?? (store === "kubernetes" ? "kubernetes" : "local"),
    seedPool: seedPool(v),
    pool,
    poolNamespace,
    localAgentPrefix: v["local-agent-prefix"],
    containerdSocket: v["containerd-socket"],
    containerdNamespace: v["containerd-namespace"],
    agentLogDir: v["agent-log-dir"] ?? `${dataDir}/logs`,
    store,
    kubeconfig: v.kubeconfig,
    leaderElect,
    leaderElectionNamespace: v["leader-election-namespace"],
    leaderElectionId: v["leader-election-id"],
    ...election,
    agentImage: v["agent-image"],
    agentTokenSecret: v["agent-token-secret"],
    agentServiceAccount: v["agent-service-account"],
  };
}

/** The election's timings, checked against each other as the elector needs them. */
function electionTimings(
  v: ControllerFlags,
): Pick<ControllerConfig, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs"> {
  const leaseDurationMs = v["leader-elect-lease-duration"];
  const renewDeadlineMs = v["leader-elect-renew-deadline"];
  const retryPeriodMs = v["leader-elect-retry-period"];
  if (leaseDurationMs % 1000 !== 0) {
    throw invalidArgument("--leader-elect-lease-duration", "must be whole seconds (a Lease counts seconds)");
  }
  if (renewDeadlineMs >= leaseDurationMs) {
    throw invalidArgument(
      "--leader-elect-renew-deadline",
      "must be shorter than --leader-elect-lease-duration",
    );
  }
  if (retryPeriodMs <= 0 || retryPeriodMs >= renewDeadlineMs) {
    throw invalidArgument(
      "--leader-elect-retry-period",
      "must be more than 0 and shorter than --leader-elect-renew-deadline",
    );
  }
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

/** The pool to create at start, or none without `--local-agents`. Bounds match the SandboxPool spec's. */
function seedPool(v: ControllerFlags): SeedPool | undefined {
  const poolMin = v["local-agents"];
  if (poolMin === 0) return undefined;
  const poolMax = v["pool-max"] ?? poolMin;
  if (poolMax < poolMin)
    throw invalidArgument("--pool-max", `${poolMax} is less than --local-agents (${poolMin})`);
  const bufferMin = v["pool-buffer-min"];
  const bufferMax = v["pool-buffer-max"] ?? Math.max(PoolDefaults.bufferMax, bufferMin);
  if (bufferMax < bufferMin) {
    throw invalidArgument("--pool-buffer-max", `${bufferMax} is less than --pool-buffer-min (${bufferMin})`);
  }
  return {
    poolMin,
    poolMax,
    bufferMin,
    bufferMax,
    maxSandboxesPerPod: v["local-agent-capacity"],
    networkMode: v["pool-network"],
  };
}

/** Agent ids are DNS labels with room for a `-<n>` suffix. */
function localAgentPrefix(prefix: string, field: string): string {
  if (!isDnsLabel(prefix) || prefix.length > 58) {
    throw invalidArgument(field, `"${prefix}" must be a DNS-1123 label of at most 58 characters`);
  }
  return prefix;
}

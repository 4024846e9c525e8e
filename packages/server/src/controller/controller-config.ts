/** fsb-controller's flags and environment, parsed and validated with no side effects. */
import {
  type ConsistencyMode,
  invalidArgument,
  isDnsLabel,
  PoolDefaults,
  PoolLimits,
} from "@fast-sandbox/api";
import { type BindAddress, bindAddress } from "../core/bind-address.ts";
import { absolutePath, intInRange, parseFlags, readToken, requireToken } from "../core/config-values.ts";
import { parseDuration } from "../core/duration.ts";

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
  /** Kubernetes launcher: image of agent Pods whose template names none. */
  agentImage: string;
  /** Kubernetes launcher: the Secret whose `agent-token` key agent Pods get as FSB_AGENT_TOKEN. */
  agentTokenSecret: string;
  /** Kubernetes launcher: the ServiceAccount of agent Pods. */
  agentServiceAccount: string;
}

/** The spec of the pool created at start. */
export interface SeedPool {
  poolMin: number;
  poolMax: number;
  bufferMin: number;
  bufferMax: number;
  maxSandboxesPerPod: number;
}

export const usage = `Usage: fsb-controller [flags]

Runs the Fast Sandbox control plane: the Fast-Path API, the scheduler and the reconcilers.

Flags:
  --api-bind-address ADDR          Fast-Path API: gRPC, gRPC-Web and Connect (default :9090)
  --agent-port PORT                agent HTTP port; local agents use PORT, PORT+1, ... (0 = any; default 5758)
  --metrics-bind-address ADDR      Prometheus endpoint (default :9091)
  --health-probe-bind-address ADDR /healthz and /readyz (default :5758)
  --fastpath-consistency-mode M    fast or strong (default fast)
  --fastpath-orphan-timeout D      undo a fast create not recorded within D (default 10s)
  --agent-probe-interval D         how often agents are probed for liveness and asked for their status (default 2s)
  --agent-loss-timeout D           silence after which an agent is lost, with 3 failed probes in a row (default 15s)
  --data-dir DIR                   embedded store directory (default /var/lib/fast-sandbox)
  --token-file PATH                API bearer token (or env FSB_TOKEN)
  --insecure                       serve without a token (development only)
  --agent-token-file PATH          token for calling agents (or env FSB_AGENT_TOKEN)
  --workers N                      concurrent reconciles (default 8)
  --agent-launcher KIND            how pools get agents: local (processes), kubernetes (Pods) or none (default local)
  --local-agents N                 create the --pool pool at start, if absent, with poolMin N (default 0: don't)
  --pool-max N                     its poolMax (default: the same as --local-agents)
  --pool-buffer-min N              its bufferMin: free slots kept ready (default 0)
  --pool-buffer-max N              its bufferMax: free slots above which agents drain (default 10)
  --local-agent-capacity N         its maxSandboxesPerPod, each agent's AGENT_CAPACITY (default 5)
  --pool NAME                      the pool created at start (default default-pool)
  --pool-namespace NS              namespace of that pool (default default)
  --local-agent-prefix P           local agents are named P-0, P-1, ... (other pools P-<pool>-0; default by pool name)
  --containerd-socket PATH         containerd socket for local agents (default /run/containerd/containerd.sock)
  --containerd-namespace NS        containerd namespace for local agents (default k8s.io)
  --agent-log-dir DIR              log directory for local agents (default <data-dir>/logs)
  --store KIND                     sqlite (embedded) or kubernetes (CRDs); default kubernetes in a Pod, else sqlite
  --kubeconfig PATH                kubeconfig (else KUBECONFIG, the Pod's service account, ~/.kube/config)
  --leader-elect                   reconcile only while holding a coordination.k8s.io Lease (Kubernetes store)
  --leader-election-namespace NS   namespace of the Lease (env POD_NAMESPACE; default default)
  --leader-election-id NAME        name of the Lease (default fast-sandbox-controller)
  --agent-image IMAGE              image of agent Pods (env FSB_AGENT_IMAGE; default fast-sandbox:0.1.0)
  --agent-token-secret NAME        Secret with the agents' token, key agent-token (default fast-sandbox-tokens)
  --agent-service-account NAME     ServiceAccount of agent Pods (default fast-sandbox-agent)
  --log-level LEVEL                pino log level (default info)
  -h, --help                       show this help
`;

export type ParsedControllerArgs = { help: true; usage: string } | { help: false; config: ControllerConfig };

export function parseControllerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string,
): ParsedControllerArgs {
  const flags = parseFlags(
    argv,
    {
      strings: [
        "api-bind-address",
        "agent-port",
        "metrics-bind-address",
        "health-probe-bind-address",
        "fastpath-consistency-mode",
        "fastpath-orphan-timeout",
        "agent-probe-interval",
        "agent-loss-timeout",
        "data-dir",
        "token-file",
        "agent-token-file",
        "workers",
        "agent-launcher",
        "local-agents",
        "pool-max",
        "pool-buffer-min",
        "pool-buffer-max",
        "local-agent-capacity",
        "pool",
        "pool-namespace",
        "local-agent-prefix",
        "containerd-socket",
        "containerd-namespace",
        "agent-log-dir",
        "log-level",
        "store",
        "kubeconfig",
        "leader-election-namespace",
        "leader-election-id",
        "agent-image",
        "agent-token-secret",
        "agent-service-account",
      ],
      booleans: ["insecure", "leader-elect"],
    },
    usage,
  );
  if (flags.help) return { help: true, usage };
  const flag = flags.string;

  const mode = flag("fastpath-consistency-mode") ?? "fast";
  if (mode !== "fast" && mode !== "strong") {
    throw invalidArgument("--fastpath-consistency-mode", `"${mode}" is not fast or strong`);
  }
  const insecure = flags.bool("insecure");
  const token = requireToken({ file: flag("token-file"), envName: "FSB_TOKEN", insecure }, env, readFile);
  const agentToken = readToken(flag("agent-token-file"), env.FSB_AGENT_TOKEN, readFile);
  const pool = flag("pool") ?? "default-pool";
  if (!isDnsLabel(pool)) throw invalidArgument("--pool", `"${pool}" must be a DNS-1123 label`);
  const poolNamespace = flag("pool-namespace") ?? "default";
  if (!isDnsLabel(poolNamespace))
    throw invalidArgument("--pool-namespace", `"${poolNamespace}" must be a DNS-1123 label`);
  const dataDir = absolutePath(flag("data-dir") ?? "/var/lib/fast-sandbox", "--data-dir");
  const storeKind = flag("store") ?? (env.KUBERNETES_SERVICE_HOST ? "kubernetes" : "sqlite");
  if (storeKind !== "sqlite" && storeKind !== "kubernetes") {
    throw invalidArgument("--store", `"${storeKind}" is not sqlite or kubernetes`);
  }
  const store: ControllerConfig["store"] = storeKind;
  const leaderElect = flags.bool("leader-elect");
  if (leaderElect && store !== "kubernetes") {
    throw invalidArgument("--leader-elect", "needs --store kubernetes (the Lease lives in the cluster)");
  }
  const probeIntervalMs = parseDuration(flag("agent-probe-interval") ?? "2s", "--agent-probe-interval");
  const lossTimeoutMs = parseDuration(flag("agent-loss-timeout") ?? "15s", "--agent-loss-timeout");
  if (lossTimeoutMs <= probeIntervalMs) {
    throw invalidArgument("--agent-loss-timeout", "must be longer than --agent-probe-interval");
  }

  return {
    help: false,
    config: {
      api: bindAddress(flag("api-bind-address") ?? ":9090", "--api-bind-address"),
      metrics: bindAddress(flag("metrics-bind-address") ?? ":9091", "--metrics-bind-address"),
      health: bindAddress(flag("health-probe-bind-address") ?? ":5758", "--health-probe-bind-address"),
      agentPort: intInRange(flag("agent-port"), 5758, 0, 65535, "--agent-port"),
      consistencyMode: mode,
      orphanTimeoutMs: parseDuration(flag("fastpath-orphan-timeout") ?? "10s", "--fastpath-orphan-timeout"),
      probeIntervalMs,
      lossTimeoutMs,
      dataDir,
      token,
      insecure: insecure && !token,
      agentToken,
      workers: intInRange(flag("workers"), 8, 1, 256, "--workers"),
      logLevel: flag("log-level") ?? env.LOG_LEVEL ?? "info",
      agentLauncher: agentLauncherKind(
        flag("agent-launcher") ?? (store === "kubernetes" ? "kubernetes" : "local"),
      ),
      seedPool: seedPool(flag),
      pool,
      poolNamespace,
      localAgentPrefix: optionalPrefix(flag("local-agent-prefix")),
      containerdSocket: absolutePath(
        flag("containerd-socket") ?? "/run/containerd/containerd.sock",
        "--containerd-socket",
      ),
      containerdNamespace: flag("containerd-namespace") ?? "k8s.io",
      agentLogDir: absolutePath(flag("agent-log-dir") ?? `${dataDir}/logs`, "--agent-log-dir"),
      store,
      kubeconfig: flag("kubeconfig"),
      leaderElect,
      leaderElectionNamespace: dnsLabel(
        flag("leader-election-namespace") ?? env.POD_NAMESPACE ?? "default",
        "--leader-election-namespace",
      ),
      leaderElectionId: dnsLabel(
        flag("leader-election-id") ?? "fast-sandbox-controller",
        "--leader-election-id",
      ),
      agentImage: flag("agent-image") ?? env.FSB_AGENT_IMAGE ?? "fast-sandbox:0.1.0",
      agentTokenSecret: dnsLabel(flag("agent-token-secret") ?? "fast-sandbox-tokens", "--agent-token-secret"),
      agentServiceAccount: dnsLabel(
        flag("agent-service-account") ?? "fast-sandbox-agent",
        "--agent-service-account",
      ),
    },
  };
}

function dnsLabel(value: string, field: string): string {
  if (!isDnsLabel(value)) throw invalidArgument(field, `"${value}" must be a DNS-1123 label`);
  return value;
}

function agentLauncherKind(kind: string): ControllerConfig["agentLauncher"] {
  if (kind !== "local" && kind !== "kubernetes" && kind !== "none") {
    throw invalidArgument("--agent-launcher", `"${kind}" is not local, kubernetes or none`);
  }
  return kind;
}

/** The pool to create at start, or none without `--local-agents`. Bounds match the SandboxPool spec's. */
function seedPool(flag: (name: string) => string | undefined): SeedPool | undefined {
  const poolMin = intInRange(flag("local-agents"), 0, 0, PoolLimits.maxAgents, "--local-agents");
  if (poolMin === 0) return undefined;
  const poolMax = intInRange(flag("pool-max"), poolMin, 1, PoolLimits.maxAgents, "--pool-max");
  if (poolMax < poolMin)
    throw invalidArgument("--pool-max", `${poolMax} is less than --local-agents (${poolMin})`);
  const bufferMin = intInRange(flag("pool-buffer-min"), 0, 0, PoolLimits.maxBuffer, "--pool-buffer-min");
  const bufferMax = intInRange(
    flag("pool-buffer-max"),
    Math.max(PoolDefaults.bufferMax, bufferMin),
    0,
    PoolLimits.maxBuffer,
    "--pool-buffer-max",
  );
  if (bufferMax < bufferMin) {
    throw invalidArgument("--pool-buffer-max", `${bufferMax} is less than --pool-buffer-min (${bufferMin})`);
  }
  const maxSandboxesPerPod = intInRange(
    flag("local-agent-capacity"),
    PoolDefaults.maxSandboxesPerPod,
    1,
    PoolLimits.maxSandboxesPerPod,
    "--local-agent-capacity",
  );
  return { poolMin, poolMax, bufferMin, bufferMax, maxSandboxesPerPod };
}

function optionalPrefix(prefix: string | undefined): string | undefined {
  return prefix === undefined ? undefined : localAgentPrefix(prefix);
}

/** Agent ids are DNS labels with room for a `-<n>` suffix. */
function localAgentPrefix(prefix: string): string {
  if (!isDnsLabel(prefix) || prefix.length > 58) {
    throw invalidArgument(
      "--local-agent-prefix",
      `"${prefix}" must be a DNS-1123 label of at most 58 characters`,
    );
  }
  return prefix;
}

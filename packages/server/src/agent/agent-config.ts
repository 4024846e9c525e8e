/** The agent's configuration from flags and environment: parsed and validated, with no side effects. */
import os from "node:os";
import path from "node:path";
import {
  type Cidr,
  type EgressSpec,
  formatCidr,
  invalidArgument,
  NETWORK_MODES,
  type NetworkModeName,
  parseCidr,
} from "@fast-sandbox/api";
import { absolutePath, type Env, type ReadFile, readToken, requireToken } from "../core/config-values.ts";
import {
  absolute,
  choice,
  dnsLabel,
  flag,
  httpUrl,
  int,
  label,
  logFormat,
  logLevel,
  text,
  toggle,
} from "../core/flag-rows.ts";
import { type FlagValues, flagCommand, type ParsedArgs, parseCommandLine } from "../core/flag-table.ts";
import type { LogFormat } from "../core/logger.ts";
import { DEFAULT_LOG_DIR } from "../core/sandbox-log-dir.ts";
import { SUBNET_BITS } from "../network/subnet-layout.ts";
import { loadSeccompSetting, type SeccompSetting, seccompChoice } from "./seccomp-setting.ts";

/** Sandboxes per agent when AGENT_CAPACITY is not set (the seed's default). */
export const DEFAULT_CAPACITY = 5;
export const DEFAULT_HTTP_PORT = 5758;
export const DEFAULT_CONTAINERD_SOCKET = "/run/containerd/containerd.sock";
/** kubelet pulls into this namespace, so using it reuses the node's image cache (zero-pull start). */
export const DEFAULT_CONTAINERD_NAMESPACE = "k8s.io";
export const DEFAULT_POOL = "default-pool";
/** Time between SIGTERM and SIGKILL when a delete does not say. */
export const DEFAULT_GRACE_PERIOD_SECONDS = 10;
/** The runsc wrapper shipped in this repository (scripts/runsc-wrapper.sh): `--runsc-binary` for gvisor by default. */
export const DEFAULT_RUNSC_BINARY = path.resolve(import.meta.dirname, "../../../../scripts/runsc-wrapper.sh");
/** Upper bound of a sandbox's capacity setting; beyond it an agent is a node, not a slot pool. */
const MAX_CAPACITY = 1000;
/**
 * Prewarmed containers per agent when AGENT_MAX_PREWARM is not set. Each one holds a `runc init`
 * process, a snapshot and a log file while nobody uses it, and counts against no slot.
 */
export const DEFAULT_MAX_PREWARM = 10;
/** Processes exec'd into one sandbox that may run at once, when AGENT_MAX_PROCESSES is not set. */
export const DEFAULT_MAX_PROCESSES = 16;
/** Upper bound of `--max-processes`: each holds three FIFOs and up to 1 MiB of unread output. */
const MAX_PROCESSES_LIMIT = 256;
/** Upper bound of `--max-prewarm`: every prewarmed container costs memory on the node while idle. */
const MAX_PREWARM_LIMIT = 100;
/**
 * Where the agent makes its shim anchor's rootfs (one static busybox, shared by the node's agents).
 * containerd's shim, a host process, runs it, so it must be a host path: in Kubernetes the agent Pod
 * mounts it as a hostPath at the same place (controller/pool/agent-pod.ts).
 */
export const DEFAULT_ANCHOR_DIR = "/var/lib/fast-sandbox/anchor";
/**
 * Seconds between background resyncs with containerd when `--resync-interval` does not say. Events
 * keep the agent's view current; a resync only repairs what a lost event or a broken stream missed
 * (see task-watch.ts), so it can be rare. Each costs one Containers.List plus one Tasks.Get per
 * running container of this agent.
 */
export const DEFAULT_RESYNC_INTERVAL_SECONDS = 15;
/** An hour: beyond it a missed exit would stay unreported for too long. */
const MAX_RESYNC_INTERVAL_SECONDS = 3600;

export type RuntimeType = "container" | "gvisor";
const RUNTIMES: readonly RuntimeType[] = ["container", "gvisor"];

/** How sandboxes get their network: the agent's namespace (seed default), the host's, or a given one. */
export type NetworkMode = { kind: "agent" } | { kind: "host" } | { kind: "path"; path: string };

/** The flags behind isolated networking (network/sandbox-networks.ts). */
export interface SandboxNetworkConfig {
  defaultMode: NetworkModeName;
  range: Cidr;
  bits: number;
  poolSize: number;
  restricted: Cidr[];
  stateDir: string;
  /** The egress of isolated sandboxes whose create names none: the pool's rules. */
  defaultEgress: EgressSpec;
}

/** Agents of a node carve their /24s out of this; chosen clear of common cluster and VPC ranges. */
export const DEFAULT_SUBNET_RANGE = "10.212.0.0/16";
export const DEFAULT_NETWORK_STATE_DIR = "/run/fast-sandbox/network";
/** Enough for a burst of creates while the background refill catches up (each takes tens of ms). */
const DEFAULT_NETNS_POOL = 4;
const MAX_NETNS_POOL = 64;

export interface AgentConfig {
  agentId: string;
  nodeName: string;
  pool: string;
  /** Namespace of the pool (sandboxes of other namespaces are not placed here). */
  namespace: string;
  /** Controller to self-register with (standalone agents started by hand); unset = not registering. */
  controllerUrl: string | undefined;
  controllerToken: string | undefined;
  /** Host address that endpoints are reported with (the pod IP in Kubernetes). */
  advertiseAddress: string;
  listenAddress: string;
  httpPort: number;
  containerdSocket: string;
  containerdNamespace: string;
  snapshotter: string;
  logDir: string;
  runtime: RuntimeType;
  /** The OCI runtime binary the runc shim calls for gVisor (a runsc wrapper). */
  runscBinary: string | undefined;
  network: NetworkMode;
  /** Per-sandbox networks: the default mode, and where isolated sandboxes get their addresses. */
  sandboxNetwork: SandboxNetworkConfig;
  /** The seccomp filter of every sandbox (a profile file is read and checked at start). */
  seccomp: SeccompSetting;
  capacity: number;
  /** Most prewarmed containers this agent keeps, over all templates (they count against no slot). */
  maxPrewarm: number;
  /** Exec'd processes that may run at once in one sandbox. */
  maxProcesses: number;
  /** Host directory where the shim anchor's rootfs is made. */
  anchorDir: string;
  /** Time between background resyncs of the agent's view with containerd. */
  resyncIntervalMs: number;
  /** undefined only when `insecure` is true. */
  token: string | undefined;
  insecure: boolean;
  defaultGracePeriodSeconds: number;
  logLevel: string;
  logFormat: LogFormat;
  /**
   * File this process writes its PID to at start (and removes at a clean exit), so whoever launched
   * it can find it again by PID after losing track of it (a launcher killed between spawn and its
   * own bookkeeping). Unset: none.
   */
  pidFile: string | undefined;
}

const flags = {
  "containerd-socket": absolute("PATH", "containerd socket", { default: DEFAULT_CONTAINERD_SOCKET }),
  "containerd-namespace": text("NS", "containerd namespace", { default: DEFAULT_CONTAINERD_NAMESPACE }),
  snapshotter: text("NAME", "snapshotter", { default: "overlayfs" }),
  "http-port": int("PORT", "HTTP API port", { default: DEFAULT_HTTP_PORT, min: 1, max: 65535 }),
  "listen-address": text("ADDR", "address to bind", { default: "0.0.0.0" }),
  "advertise-address": text("ADDR", "address endpoints are reported with", {
    env: ["POD_IP"],
    default: "127.0.0.1",
  }),
  "agent-id": label("ID", "agent id, a DNS label", {
    env: ["AGENT_ID", "POD_NAME"],
    shows: "from the hostname",
  }),
  "node-name": text("NAME", "node name", { env: ["NODE_NAME"], shows: "the hostname" }),
  pool: label("NAME", "pool this agent serves", { env: ["AGENT_POOL"], default: DEFAULT_POOL }),
  namespace: label("NS", "namespace of that pool", { env: ["AGENT_NAMESPACE"], default: "default" }),
  "controller-url": httpUrl("register with this controller and keep heartbeating", {
    env: ["FSB_CONTROLLER_URL"],
  }),
  "controller-token-file": text("PATH", "the controller's API token (or env FSB_TOKEN)"),
  capacity: int("N", "max sandboxes", {
    env: ["AGENT_CAPACITY"],
    blameEnv: true,
    default: DEFAULT_CAPACITY,
    min: 1,
    max: MAX_CAPACITY,
  }),
  "max-prewarm": int("N", "max prewarmed containers, all templates together; they take no sandbox slot", {
    env: ["AGENT_MAX_PREWARM"],
    blameEnv: true,
    default: DEFAULT_MAX_PREWARM,
    min: 0,
    max: MAX_PREWARM_LIMIT,
  }),
  "max-processes": int("N", "max exec'd processes running at once per sandbox", {
    env: ["AGENT_MAX_PROCESSES"],
    blameEnv: true,
    default: DEFAULT_MAX_PROCESSES,
    min: 1,
    max: MAX_PROCESSES_LIMIT,
  }),
  "log-dir": absolute("DIR", "sandbox log directory", { default: DEFAULT_LOG_DIR }),
  "anchor-dir": flag(
    "DIR",
    "host directory for the shim anchor's rootfs, a copy of the static /bin/busybox shared by the node's agents",
    anchorDir,
    { default: DEFAULT_ANCHOR_DIR },
  ),
  "resync-interval": int("SECONDS", "how often the agent checks its view of containerd in the background", {
    default: DEFAULT_RESYNC_INTERVAL_SECONDS,
    min: 1,
    max: MAX_RESYNC_INTERVAL_SECONDS,
  }),
  runtime: choice("container|gvisor", "OCI runtime for sandboxes", RUNTIMES, "one of container, gvisor", {
    default: "container",
  }),
  "runsc-binary": text("PATH", "runsc wrapper the runc shim runs for gvisor", {
    env: ["FSB_RUNSC_BINARY"],
    shows: DEFAULT_RUNSC_BINARY,
  }),
  network: flag("agent|host|PATH", "network namespace sandboxes of mode agent join", networkMode, {
    default: "agent",
  }),
  "network-mode": choice(
    "isolated|none|agent",
    "network mode of sandboxes whose create names none",
    NETWORK_MODES,
    "one of isolated, none, agent",
    { default: "agent" },
  ),
  "sandbox-subnet-range": flag(
    "CIDR",
    "range the agents of a node carve their sandbox subnets from",
    cidrFlag,
    {
      default: DEFAULT_SUBNET_RANGE,
    },
  ),
  "sandbox-subnet-bits": flag("BITS", "prefix length of each agent's subnet: 16, 20, 24 or 28", subnetBits, {
    default: "24",
  }),
  "netns-pool": int("N", "network namespaces kept ready for isolated sandboxes", {
    default: DEFAULT_NETNS_POOL,
    min: 0,
    max: MAX_NETNS_POOL,
  }),
  "egress-default": choice(
    "allow|deny",
    "egress of isolated sandboxes whose create names none: to what no list names",
    ["allow", "deny"] as const,
    "one of allow, deny",
    {
      default: "allow",
    },
  ),
  "egress-allow": flag(
    "CIDR,...",
    "networks isolated sandboxes may reach when their create names no egress",
    cidrTexts,
    { default: "" },
  ),
  "egress-deny": flag(
    "CIDR,...",
    "networks isolated sandboxes may not reach when their create names no egress",
    cidrTexts,
    { default: "" },
  ),
  "network-restrict": flag(
    "CIDR,...",
    "more networks isolated sandboxes reach only when their egress allows them",
    cidrList,
    {
      default: "",
    },
  ),
  "network-state-dir": absolute("DIR", "where the agents of a node claim their subnets", {
    default: DEFAULT_NETWORK_STATE_DIR,
  }),
  seccomp: flag(
    "runtime-default|unconfined|PATH",
    "seccomp filter of every sandbox: the built-in profile, none, or an OCI linux.seccomp JSON file",
    seccompChoice,
    { default: "runtime-default" },
  ),
  "grace-period": int("SECONDS", "default SIGTERM→SIGKILL grace on delete", {
    default: DEFAULT_GRACE_PERIOD_SECONDS,
    min: 0,
    max: 3600,
  }),
  "token-file": text("PATH", "file holding the API bearer token (or env FSB_AGENT_TOKEN)"),
  insecure: toggle("run without a token (development only)"),
  "pid-file": absolute("PATH", "write this process's PID here while it runs", { shows: "none" }),
  "log-level": logLevel(),
  "log-format": logFormat(),
};

const command = flagCommand(
  `Usage: fsb-agent [flags]

Runs the Fast Sandbox node agent: an HTTP API (bearer token) that creates sandboxes on containerd.`,
  flags,
);

/** Parsed command line: either a configuration or a request for help. */
export type ParsedAgentArgs = ParsedArgs<AgentConfig>;

/**
 * Parses flags and environment. `readFile` is injected so that the token file is read by the
 * caller's I/O, and this function stays pure for tests.
 */
export function parseAgentConfig(argv: readonly string[], env: Env, readFile: ReadFile): ParsedAgentArgs {
  return parseCommandLine(command, argv, env, (v) => agentConfig(v, env, readFile));
}

/** The configuration from the flags' values; reads them in the order their checks should run. */
function agentConfig(v: FlagValues<typeof flags>, env: Env, readFile: ReadFile): AgentConfig {
  const hostname = os.hostname();
  const agentId = v["agent-id"] ?? dnsLabel(agentIdFromHostname(hostname), "--agent-id");
  const { pool, namespace } = v;
  const controllerUrl = v["controller-url"];
  const controllerToken = readToken(v["controller-token-file"], env.FSB_TOKEN, readFile);
  const runtime = v.runtime;
  const runscBinary = v["runsc-binary"] ?? (runtime === "gvisor" ? DEFAULT_RUNSC_BINARY : undefined);
  if (runtime === "gvisor" && !runscBinary) {
    throw invalidArgument("--runsc-binary", "gvisor needs the runsc wrapper that the runc shim runs");
  }
  const range = v["sandbox-subnet-range"];
  if (range.bits > v["sandbox-subnet-bits"]) {
    throw invalidArgument(
      "--sandbox-subnet-range",
      `${formatCidr(range)} cannot hold one /${v["sandbox-subnet-bits"]} subnet`,
    );
  }
  const insecure = v.insecure;
  const token = requireToken({ file: v["token-file"], envName: "FSB_AGENT_TOKEN", insecure }, env, readFile);
  const seccomp = loadSeccompSetting(v.seccomp, readFile, "--seccomp");

  return {
    agentId,
    nodeName: v["node-name"] ?? hostname,
    pool,
    namespace,
    controllerUrl,
    controllerToken,
    advertiseAddress: v["advertise-address"],
    listenAddress: v["listen-address"],
    httpPort: v["http-port"],
    containerdSocket: v["containerd-socket"],
    containerdNamespace: v["containerd-namespace"],
    snapshotter: v.snapshotter,
    logDir: v["log-dir"],
    runtime,
    runscBinary,
    network: v.network,
    sandboxNetwork: {
      defaultMode: v["network-mode"],
      range: v["sandbox-subnet-range"],
      bits: v["sandbox-subnet-bits"],
      poolSize: v["netns-pool"],
      restricted: v["network-restrict"],
      stateDir: v["network-state-dir"],
      defaultEgress: { default: v["egress-default"], allow: v["egress-allow"], deny: v["egress-deny"] },
    },
    seccomp,
    capacity: v.capacity,
    maxPrewarm: v["max-prewarm"],
    maxProcesses: v["max-processes"],
    anchorDir: v["anchor-dir"],
    resyncIntervalMs: v["resync-interval"] * 1000,
    token,
    insecure: insecure && !token,
    defaultGracePeriodSeconds: v["grace-period"],
    logLevel: v["log-level"],
    logFormat: v["log-format"],
    pidFile: v["pid-file"],
  };
}

/** A hostname made into a DNS label: lower case, invalid characters replaced, trimmed to 63. */
function agentIdFromHostname(hostname: string): string {
  const label = hostname
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return label || "agent";
}

/** An absolute, normalised directory other than `/`: the agent makes and renames directories in it. */
function anchorDir(raw: string, field: string): string {
  const dir = absolutePath(raw, field);
  const normal = path.posix.normalize(dir).replace(/(.)\/+$/, "$1");
  if (normal === "/" || normal !== dir.replace(/(.)\/+$/, "$1") || dir.includes("\0")) {
    throw invalidArgument(field, `"${raw}" must be a normalised absolute directory other than /`);
  }
  return normal;
}

function cidrFlag(raw: string, field: string): Cidr {
  return parseCidr(raw, field);
}

function cidrList(raw: string, field: string): Cidr[] {
  return raw
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .map((part) => parseCidr(part, field));
}

/** CIDRs checked, kept as text: they travel as egress rules (network-spec.ts), which hold text. */
function cidrTexts(raw: string, field: string): string[] {
  return cidrList(raw, field).map(formatCidr);
}

function subnetBits(raw: string, field: string): number {
  const bits = Number(raw);
  if (!SUBNET_BITS.includes(bits))
    throw invalidArgument(field, `"${raw}" is not one of ${SUBNET_BITS.join(", ")}`);
  return bits;
}

function networkMode(raw: string, field: string): NetworkMode {
  if (raw === "agent") return { kind: "agent" };
  if (raw === "host") return { kind: "host" };
  if (raw.startsWith("/")) return { kind: "path", path: raw };
  throw invalidArgument(field, `"${raw}" is not agent, host or an absolute netns path`);
}

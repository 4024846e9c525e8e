// The OCI runtime spec (1.0.2 subset) we hand to containerd, and its hardened default.

/** The runtime-spec version runc 1.1.5 reads; the fields below are that version's. */
export const OCI_VERSION = "1.0.2";

/** Search path for images that set none; the one container runtimes conventionally use. */
export const DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** A fork bomb in one sandbox must not starve the node of pids. */
export const DEFAULT_PIDS_LIMIT = 1024;

/** Open-file limit, soft and hard: the usual container default, enough for ordinary workloads. */
export const DEFAULT_NOFILE_LIMIT = 1024;

/** Size cap of the /dev and /dev/shm tmpfs mounts (64 MiB), so they cannot fill node memory. */
const DEV_TMPFS_SIZE = "size=65536k";

/** The "tty" group in most images; /dev/pts nodes get it so terminals work for non-root users. */
const TTY_GID = 5;

/**
 * The conventional capability set container runtimes grant. Sandboxes never get more:
 * there is no privileged mode.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
]);

export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

/** A terminal's size in character cells. */
export interface OciConsoleSize {
  height: number;
  width: number;
}

export interface OciProcess {
  terminal: boolean;
  /** Initial size of the terminal when `terminal` is set. */
  consoleSize?: OciConsoleSize;
  user: OciUser;
  args: string[];
  /** `K=V` entries. */
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  rlimits: OciRlimit[];
  noNewPrivileges: boolean;
}

export interface OciRoot {
  /** Relative paths resolve against the bundle directory containerd prepares. */
  path: string;
  readonly: boolean;
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export type OciNamespaceType = "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup";

export interface OciNamespace {
  type: OciNamespaceType;
  /** Join this existing namespace; without it runc creates a fresh one. */
  path?: string;
}

export interface OciDeviceCgroupRule {
  allow: boolean;
  /** "a" (all), "c" (char) or "b" (block); absent means all. */
  type?: "a" | "c" | "b";
  /** Absent means any major. */
  major?: number;
  /** Absent means any minor. */
  minor?: number;
  access?: string;
}

export interface OciMemory {
  limit?: number;
}

export interface OciCpu {
  shares?: number;
  quota?: number;
  period?: number;
}

export interface OciPids {
  limit: number;
}

export interface OciResources {
  devices: OciDeviceCgroupRule[];
  memory?: OciMemory;
  cpu?: OciCpu;
  pids?: OciPids;
}

/** What the kernel does with a syscall a seccomp rule matches (libseccomp's names, as runc reads them). */
export type OciSeccompAction =
  | "SCMP_ACT_KILL"
  | "SCMP_ACT_KILL_PROCESS"
  | "SCMP_ACT_KILL_THREAD"
  | "SCMP_ACT_TRAP"
  | "SCMP_ACT_ERRNO"
  | "SCMP_ACT_TRACE"
  | "SCMP_ACT_ALLOW"
  | "SCMP_ACT_LOG";

/** How a syscall argument is compared with `value` (MASKED_EQ: `(arg & value) == valueTwo`). */
export type OciSeccompOperator =
  | "SCMP_CMP_NE"
  | "SCMP_CMP_LT"
  | "SCMP_CMP_LE"
  | "SCMP_CMP_EQ"
  | "SCMP_CMP_GE"
  | "SCMP_CMP_GT"
  | "SCMP_CMP_MASKED_EQ";

/** A condition on one syscall argument; a rule matches when all of its conditions hold. */
export interface OciSeccompArg {
  /** The argument's position, 0-5. */
  index: number;
  value: number;
  valueTwo?: number;
  op: OciSeccompOperator;
}

/** One rule: what happens to the named syscalls (when `args` match, if given). */
export interface OciSeccompSyscall {
  names: string[];
  action: OciSeccompAction;
  /** The errno an SCMP_ACT_ERRNO rule returns; runc uses EPERM without it. */
  errnoRet?: number;
  args?: OciSeccompArg[];
}

/** `linux.seccomp`: the filter runc installs just before it runs the container's process. */
export interface OciSeccomp {
  /** What happens to a syscall no rule matches. */
  defaultAction: OciSeccompAction;
  /** The errno of an SCMP_ACT_ERRNO default (runc 1.1 reads it; EPERM without it). */
  defaultErrnoRet?: number;
  /** libseccomp architectures (`SCMP_ARCH_X86_64` …) the filter covers; none means the native one. */
  architectures?: string[];
  /** seccomp(2) filter flags, such as SECCOMP_FILTER_FLAG_LOG. */
  flags?: string[];
  syscalls?: OciSeccompSyscall[];
}

export interface OciLinux {
  namespaces: OciNamespace[];
  resources: OciResources;
  cgroupsPath?: string;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** No filter when absent (options add one: see withSeccomp). */
  seccomp?: OciSeccomp;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: OciRoot;
  hostname?: string;
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux: OciLinux;
}

/** One step of building a spec; mutates the spec it is given. */
export type SpecOption = (spec: OciSpec) => void;

/** Character devices every container may use: [major, minor], minor absent for "any". */
const ALLOWED_CHAR_DEVICES: ReadonlyArray<readonly [number, number?]> = [
  [1, 3], // null
  [1, 5], // zero
  [1, 7], // full
  [1, 8], // random
  [1, 9], // urandom
  [5, 0], // tty
  [5, 1], // console
  [5, 2], // ptmx
  [136], // pts/*
];

/** Returns a fresh hardened spec; callers may mutate it freely. */
export function defaultSpec(): OciSpec {
  return {
    ociVersion: OCI_VERSION,
    process: defaultProcess(),
    root: { path: "rootfs", readonly: false },
    mounts: defaultMounts(),
    linux: defaultLinux(),
  };
}

/** Root, no new privileges, the default capabilities only, a file descriptor limit. */
function defaultProcess(): OciProcess {
  return {
    terminal: false,
    user: { uid: 0, gid: 0 },
    // Placeholder: every real sandbox sets its command through an option.
    args: ["sh"],
    env: [DEFAULT_PATH_ENV],
    cwd: "/",
    // Inheritable and ambient stay empty: filling them let exec'd programs keep
    // capabilities they were not granted (CVE-2022-29162).
    capabilities: {
      bounding: [...DEFAULT_CAPABILITIES],
      effective: [...DEFAULT_CAPABILITIES],
      permitted: [...DEFAULT_CAPABILITIES],
    },
    rlimits: [{ type: "RLIMIT_NOFILE", hard: DEFAULT_NOFILE_LIMIT, soft: DEFAULT_NOFILE_LIMIT }],
    noNewPrivileges: true,
  };
}

/** /proc, a small /dev with its pts, shm and mqueue, and a read-only /sys and cgroup tree. */
function defaultMounts(): OciMount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", DEV_TMPFS_SIZE],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", `gid=${TTY_GID}`],
    },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", DEV_TMPFS_SIZE],
    },
    {
      destination: "/dev/mqueue",
      type: "mqueue",
      source: "mqueue",
      options: ["nosuid", "noexec", "nodev"],
    },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
  ];
}

/** Own pid, ipc, uts and mount namespaces; devices denied but the usual few; a pids limit; masked /proc. */
function defaultLinux(): OciLinux {
  return {
    // No network entry: the container shares the runtime's network namespace until an option says otherwise.
    namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
    resources: {
      devices: [
        { allow: false, access: "rwm" },
        ...ALLOWED_CHAR_DEVICES.map(([major, minor]): OciDeviceCgroupRule => {
          const rule: OciDeviceCgroupRule = { allow: true, type: "c", major, access: "rwm" };
          if (minor !== undefined) rule.minor = minor;
          return rule;
        }),
      ],
      pids: { limit: DEFAULT_PIDS_LIMIT },
    },
    maskedPaths: [
      "/proc/acpi",
      "/proc/asound",
      "/proc/kcore",
      "/proc/keys",
      "/proc/latency_stats",
      "/proc/timer_list",
      "/proc/timer_stats",
      "/proc/sched_debug",
      "/proc/scsi",
      "/sys/firmware",
    ],
    readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
  };
}

/** Builds a spec from {@link defaultSpec}, applying `options` in order. */
export function buildSpec(...options: SpecOption[]): OciSpec {
  const spec = defaultSpec();
  for (const option of options) option(spec);
  return spec;
}

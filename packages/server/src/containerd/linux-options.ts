// Options on the Linux side of a sandbox's spec: network namespace, resource limits, cgroup placement, seccomp.
import { invalidArgument } from "@fast-sandbox/api";
import type { OciNamespace, OciSeccomp, SpecOption } from "./oci-spec.ts";

/** CFS period in µs: the kernel default, so quota reads as "µs of CPU per 100 ms". */
export const CFS_PERIOD_US = 100_000;

/** The kernel rejects cpu.cfs_quota_us below 1 ms, so tiny CPU requests are raised to it. */
export const MIN_CFS_QUOTA_US = 1_000;

/** The kernel's floor for cpu.shares. */
export const MIN_CPU_SHARES = 2;

/** cpu.shares granted to one full CPU, the cgroup v1 convention Kubernetes also uses. */
const SHARES_PER_CPU = 1024;

const MILLIS_PER_CPU = 1000;

/** seccomp sees six syscall arguments, numbered from 0. */
const MAX_SYSCALL_ARG_INDEX = 5;

function assertPositiveInteger(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw invalidArgument(field, `must be a positive integer, got ${value}`);
  }
}

function setNetworkNamespace(namespace: OciNamespace): SpecOption {
  return (spec) => {
    const namespaces = spec.linux.namespaces;
    const index = namespaces.findIndex((ns) => ns.type === "network");
    if (index === -1) namespaces.push(namespace);
    else namespaces[index] = namespace;
  };
}

/** Joins the existing network namespace at `path`, such as one prepared by CNI under /var/run/netns. */
export function withNetworkNamespace(path: string): SpecOption {
  if (!path.startsWith("/")) {
    throw invalidArgument("networkNamespace", `must be an absolute path, got "${path}"`);
  }
  return setNetworkNamespace({ type: "network", path });
}

/** Shares the runtime's network namespace by dropping any network namespace entry. */
export function withHostNetwork(): SpecOption {
  return (spec) => {
    spec.linux.namespaces = spec.linux.namespaces.filter((ns) => ns.type !== "network");
  };
}

/** Gives the container a fresh network namespace holding only loopback (network mode none). */
export function withNewNetworkNamespace(): SpecOption {
  return setNetworkNamespace({ type: "network" });
}

/** Resource limits of a sandbox; absent fields are left as they are. */
export interface ResourceLimits {
  /** CPU in thousandths of a core: 500 is half a core. */
  cpuMillis?: number;
  memoryBytes?: number;
  pids?: number;
}

/** Caps CPU (CFS quota, with proportional shares), memory and process count. */
export function withResources(limits: ResourceLimits): SpecOption {
  const { cpuMillis, memoryBytes, pids } = limits;
  if (cpuMillis !== undefined) assertPositiveInteger("resources.cpuMillis", cpuMillis);
  if (memoryBytes !== undefined) assertPositiveInteger("resources.memoryBytes", memoryBytes);
  if (pids !== undefined) assertPositiveInteger("resources.pids", pids);
  return (spec) => {
    const resources = spec.linux.resources;
    if (cpuMillis !== undefined) {
      resources.cpu = {
        shares: Math.max(MIN_CPU_SHARES, Math.round((cpuMillis * SHARES_PER_CPU) / MILLIS_PER_CPU)),
        quota: Math.max(MIN_CFS_QUOTA_US, Math.round((cpuMillis * CFS_PERIOD_US) / MILLIS_PER_CPU)),
        period: CFS_PERIOD_US,
      };
    }
    if (memoryBytes !== undefined) resources.memory = { limit: memoryBytes };
    if (pids !== undefined) resources.pids = { limit: pids };
  };
}

/** Places the container in the cgroup at `path` (cgroupfs driver: relative to each hierarchy's root). */
export function withCgroupsPath(path: string): SpecOption {
  const segments = path.split("/").slice(1);
  if (
    !path.startsWith("/") ||
    segments.length === 0 ||
    segments.some((s) => s === "" || s === "." || s === "..")
  ) {
    throw invalidArgument("cgroupsPath", `must be an absolute path like /fsb/<id>, got "${path}"`);
  }
  return (spec) => {
    spec.linux.cgroupsPath = path;
  };
}

/**
 * Filters the container's syscalls with `profile` (see seccomp-profile.ts for the default). runc
 * installs it last, just before the process runs, and `runc exec` puts exec'd processes under it too.
 * The spec gets its own copy.
 */
export function withSeccomp(profile: OciSeccomp): SpecOption {
  (profile.syscalls ?? []).forEach((rule, i) => {
    if (rule.names.length === 0 || rule.names.some((name) => name === "")) {
      throw invalidArgument(`seccomp.syscalls[${i}].names`, "must list at least one non-empty name");
    }
    (rule.args ?? []).forEach((arg, j) => {
      if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > MAX_SYSCALL_ARG_INDEX) {
        throw invalidArgument(
          `seccomp.syscalls[${i}].args[${j}].index`,
          `must be 0-${MAX_SYSCALL_ARG_INDEX}, got ${arg.index}`,
        );
      }
    });
  });
  const copy = structuredClone(profile);
  return (spec) => {
    spec.linux.seccomp = structuredClone(copy);
  };
}

/** Runs the container without a seccomp filter (the capability set and namespaces still apply). */
export function withoutSeccomp(): SpecOption {
  return (spec) => {
    delete spec.linux.seccomp;
  };
}

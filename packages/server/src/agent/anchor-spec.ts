/** The OCI spec and labels of an agent's shim anchor (pure): a pause-like container that runs no user code. */
import { anchorContainerId, anchorRole, Labels, managedByValue } from "@fast-sandbox/api";
import { agentCgroupsPath, shimGroup } from "../containerd/agent-grouping.ts";
import { MIN_CPU_SHARES, withCgroupsPath, withNewNetworkNamespace } from "../containerd/linux-options.ts";
import { buildSpec, DEFAULT_PATH_ENV, type OciSpec } from "../containerd/oci-spec.ts";
import { withShimGroup } from "../containerd/spec-options.ts";
import { validateSpec } from "../containerd/validate-spec.ts";

/** The program the anchor runs, inside its rootfs (see anchor-rootfs.ts): sleep forever, nothing else. */
export const ANCHOR_ARGS: readonly string[] = Object.freeze(["/bin/busybox", "sleep", "infinity"]);
/** nobody: the anchor needs no identity, and owns no file it could write anyway. */
const NOBODY = 65534;
/** `sleep` is one process; runc's init is counted too while the container starts. */
export const ANCHOR_PIDS_LIMIT = 8;
/**
 * busybox `sleep` keeps ~1.3 MB resident; runc init charges ~2 MB to the cgroup while it starts (the
 * smallest limit runc accepted here was above that), so 16 MiB leaves room without inviting abuse.
 */
export const ANCHOR_MEMORY_BYTES = 16 * 1024 * 1024;
/** stdin, stdout, stderr and a few for the runtime; sleep opens nothing. */
const ANCHOR_NOFILE = 16;
/** Only /dev's few device nodes live in it. */
const ANCHOR_DEV_TMPFS_SIZE = "size=64k";

/** The labels of agent `agentId`'s anchor: ownership (managed-by, role, agent, id) and its age for the janitor. */
export function anchorLabels(agentId: string, createdAt: Date): Record<string, string> {
  return {
    [Labels.ManagedBy]: managedByValue,
    [Labels.Role]: anchorRole,
    [Labels.Agent]: agentId,
    [Labels.CreatedAt]: createdAt.toISOString(),
  };
}

/**
 * The anchor's spec: the hardened default cut down to what `sleep` needs. The root is the host
 * directory `rootfs`, read-only; no network (a fresh, empty namespace), no capabilities, no new
 * privileges, nobody as user, a small pids and memory limit, only /proc and a tiny /dev mounted. It
 * carries the agent's shim group (the point of it: keep that shim alive) and a cgroup under the
 * agent's subtree, named like a sandbox's, so the janitor recognises its bundle.
 */
export function buildAnchorSpec(agentId: string, rootfs: string): OciSpec {
  const containerId = anchorContainerId(agentId);
  const spec = buildSpec(
    withNewNetworkNamespace(),
    withCgroupsPath(agentCgroupsPath(agentId, containerId)),
    withShimGroup(shimGroup(agentId)),
  );
  spec.root = { path: rootfs, readonly: true };
  spec.process = {
    ...spec.process,
    args: [...ANCHOR_ARGS],
    env: [DEFAULT_PATH_ENV],
    cwd: "/",
    user: { uid: NOBODY, gid: NOBODY },
    capabilities: { bounding: [], effective: [], permitted: [] },
    rlimits: [{ type: "RLIMIT_NOFILE", hard: ANCHOR_NOFILE, soft: ANCHOR_NOFILE }],
    noNewPrivileges: true,
  };
  // /dev must be a tmpfs: runc makes device nodes there, and the rootfs is a shared host directory.
  spec.mounts = spec.mounts
    .filter((m) => m.destination === "/proc" || m.destination === "/dev")
    .map((m) =>
      m.destination === "/dev"
        ? { ...m, options: ["nosuid", "noexec", "strictatime", "mode=755", ANCHOR_DEV_TMPFS_SIZE] }
        : m,
    );
  spec.linux.resources = {
    ...spec.linux.resources,
    pids: { limit: ANCHOR_PIDS_LIMIT },
    memory: { limit: ANCHOR_MEMORY_BYTES },
    cpu: { shares: MIN_CPU_SHARES },
  };
  validateSpec(spec);
  return spec;
}

/**
 * The benchmarks' containerd floor: a create reduced to the four containerd calls it cannot do
 * without, made as the agent makes them, with the spec and labels the agent would send.
 */
import { buildSandboxOciSpec } from "../packages/server/src/agent/build-oci-spec.ts";
import { type AgentSandboxSpec, sandboxLabels } from "../packages/server/src/agent/sandbox-spec.ts";
import type { ContainerdConnection } from "../packages/server/src/containerd/connection.ts";
import { RUNC_SHIM, snapshotLabels } from "../packages/server/src/containerd/container-runtime.ts";
import type { ResolvedImage } from "../packages/server/src/containerd/image-resolver.ts";
import { specToAny } from "../packages/server/src/containerd/spec-any.ts";

export const FLOOR_SNAPSHOTTER = "overlayfs";

/** Who the floor's container belongs to, as an agent would label it. */
export interface FloorOwner {
  /** Names the shim group: containers of one "agent" share one shim. */
  agentId: string;
  pool: string;
  logPath: string;
}

/**
 * Creates and starts the sandbox of `spec`: the OCI spec and labels are built untimed, then
 * Snapshots.Prepare (a GC root, as the agent's ContainerRuntime prepares it, so no lease), Containers.Create,
 * Tasks.Create and Tasks.Start are timed. No per-call deadline, like the agent's own containerd calls.
 * Resolves to the timed part in milliseconds.
 */
export async function floorCreate(
  conn: ContainerdConnection,
  image: ResolvedImage,
  spec: AgentSandboxSpec,
  owner: FloorOwner,
): Promise<number> {
  const id = spec.sandboxId;
  const oci = buildSandboxOciSpec(spec, image.config, {
    agentId: owner.agentId,
    runtime: "container",
    network: { kind: "agent" },
    seccomp: { kind: "runtime-default" },
    agentPid: process.pid,
  });
  const labels = sandboxLabels(spec, {
    agentId: owner.agentId,
    pool: owner.pool,
    createdAt: new Date(),
    logPath: owner.logPath,
  });
  const logUri = `file://${owner.logPath}`;
  const started = performance.now();
  const prepared = await conn.snapshots.prepare({
    snapshotter: FLOOR_SNAPSHOTTER,
    key: id,
    parent: image.chainId,
    labels: snapshotLabels(labels),
  });
  await conn.containers.create({
    container: {
      id,
      labels,
      image: image.name,
      runtime: { name: RUNC_SHIM },
      spec: specToAny(oci),
      snapshotter: FLOOR_SNAPSHOTTER,
      snapshotKey: id,
    },
  });
  await conn.tasks.create({ containerId: id, rootfs: prepared.mounts, stdout: logUri, stderr: logUri });
  await conn.tasks.start({ containerId: id });
  return performance.now() - started;
}

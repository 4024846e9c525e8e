/** Sandbox objects as the API's SandboxInfo messages: the one place wire and domain meet on the way out. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DEFAULT_RECOVERY_TIMEOUT_SECONDS, type Sandbox, SandboxPhase } from "@fast-sandbox/api";
import {
  ConsistencyMode,
  FailurePolicy,
  type SandboxInfo,
  SandboxInfoSchema,
} from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { createdAtOf } from "./sandbox/created-at.ts";

export function toSandboxInfo(sandbox: Sandbox): SandboxInfo {
  const { metadata, spec } = sandbox;
  const status = sandbox.status ?? {};
  const phase = metadata.deletionTimestamp
    ? SandboxPhase.Terminating
    : (status.phase ?? SandboxPhase.Pending);
  return create(SandboxInfoSchema, {
    name: metadata.name,
    namespace: metadata.namespace,
    uid: metadata.uid,
    sandboxId: status.sandboxID ?? "",
    phase,
    conditions: (status.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: timestamp(c.lastTransitionTime),
    })),
    image: spec.image,
    pool: spec.poolRef ?? "default-pool",
    agent: status.assignedAgent ?? "",
    node: status.nodeName ?? "",
    endpoints: status.endpoints ?? [],
    createdAt: timestamp(isoOf(createdAtOf(sandbox))),
    startedAt: timestamp(status.startedAt),
    exitCode: status.exitCode,
    expireTime: timestamp(spec.expireTime),
    failurePolicy: spec.failurePolicy === "AutoRecreate" ? FailurePolicy.AUTO_RECREATE : FailurePolicy.MANUAL,
    consistencyMode: spec.consistencyMode === "strong" ? ConsistencyMode.STRONG : ConsistencyMode.FAST,
    recreations: status.recreations ?? 0,
    labels: metadata.labels,
    resetRevision: timestamp(spec.resetRevision),
    acceptedResetRevision: timestamp(status.acceptedResetRevision),
    command: spec.command ?? [],
    args: spec.args ?? [],
    env: spec.env ?? [],
    exposedPorts: spec.exposedPorts ?? [],
    workingDir: spec.workingDir ?? "",
    resources: spec.resources
      ? { cpu: spec.resources.cpu ?? "", memory: spec.resources.memory ?? "", pids: spec.resources.pids }
      : undefined,
    recoveryTimeoutSeconds: spec.recoveryTimeoutSeconds ?? DEFAULT_RECOVERY_TIMEOUT_SECONDS,
    resourceVersion: metadata.resourceVersion,
  });
}

function isoOf(ms: number): string | undefined {
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function timestamp(iso: string | undefined) {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : timestampFromDate(new Date(ms));
}

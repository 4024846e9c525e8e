/** Plain SDK view of a sandbox: the wire SandboxInfo with Dates, strings for enums, no protobuf classes. */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  ConsistencyMode,
  FailurePolicy,
  type SandboxInfo,
} from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";

/** A sandbox's lifecycle phase; `Succeeded` is a process that exited 0 (a finished job), `Failed` any other end. */
export type Phase =
  | "Pending"
  | "Bound"
  | "Running"
  | "Succeeded"
  | "Failed"
  | "Lost"
  | "Expired"
  | "Terminating";

/** A Kubernetes-style condition (`Scheduled`, `Ready`). */
export interface SandboxCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: Date | undefined;
}

/** Everything the server reports about a sandbox. */
export interface SandboxDetails {
  name: string;
  namespace: string;
  /** Empty for a fast-mode create until the server has recorded it. */
  uid: string;
  /** The container of the current incarnation; changes on recreate and reset. */
  id: string;
  phase: Phase;
  conditions: SandboxCondition[];
  image: string;
  pool: string;
  agent: string;
  node: string;
  /** `ip:port` for each exposed port. */
  endpoints: string[];
  createdAt: Date | undefined;
  startedAt: Date | undefined;
  exitCode: number | undefined;
  expireTime: Date | undefined;
  failurePolicy: "Manual" | "AutoRecreate";
  consistencyMode: "fast" | "strong";
  recreations: number;
  labels: Record<string, string>;
  command: string[];
  args: string[];
  env: Array<{ name: string; value: string }>;
  workingDir: string;
  exposedPorts: number[];
  resources: { cpu?: string; memory?: string; pids?: number } | undefined;
  recoveryTimeoutSeconds: number;
  resetRevision: Date | undefined;
  acceptedResetRevision: Date | undefined;
}

export function toDetails(info: SandboxInfo): SandboxDetails {
  const date = (t: Parameters<typeof timestampDate>[0] | undefined) => (t ? timestampDate(t) : undefined);
  return {
    name: info.name,
    namespace: info.namespace,
    uid: info.uid,
    id: info.sandboxId,
    phase: info.phase as Phase,
    conditions: info.conditions.map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: date(c.lastTransitionTime),
    })),
    image: info.image,
    pool: info.pool,
    agent: info.agent,
    node: info.node,
    endpoints: [...info.endpoints],
    createdAt: date(info.createdAt),
    startedAt: date(info.startedAt),
    exitCode: info.exitCode,
    expireTime: date(info.expireTime),
    failurePolicy: info.failurePolicy === FailurePolicy.AUTO_RECREATE ? "AutoRecreate" : "Manual",
    consistencyMode: info.consistencyMode === ConsistencyMode.STRONG ? "strong" : "fast",
    recreations: info.recreations,
    labels: { ...info.labels },
    command: [...info.command],
    args: [...info.args],
    env: info.env.map((e) => ({ name: e.name, value: e.value })),
    workingDir: info.workingDir,
    exposedPorts: [...info.exposedPorts],
    resources: info.resources
      ? {
          ...(info.resources.cpu ? { cpu: info.resources.cpu } : {}),
          ...(info.resources.memory ? { memory: info.resources.memory } : {}),
          ...(info.resources.pids !== undefined ? { pids: info.resources.pids } : {}),
        }
      : undefined,
    recoveryTimeoutSeconds: info.recoveryTimeoutSeconds,
    resetRevision: date(info.resetRevision),
    acceptedResetRevision: date(info.acceptedResetRevision),
  };
}

/** What `fsb.pools.apply` takes (a SandboxPool manifest or a flat form) and how it becomes an ApplyPoolRequest. */
import type { JsonObject } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import {
  type ApplyPoolRequest,
  ApplyPoolRequestSchema,
} from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import { InvalidArgumentError } from "./errors.ts";
import type { EnvVar, PoolCapacity, RuntimeType } from "./pool-info.ts";

/** The API group and version of the SandboxPool and Sandbox resources. */
export const POOL_API_VERSION = "sandbox.fast.io/v1alpha1";
export const POOL_KIND = "SandboxPool";

/** A prewarm template to apply: only `image` and `count` are required. */
export interface PrewarmTemplateInput {
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  /** Containers per agent, 0–20. */
  count: number;
}

/** A pool's desired state; every unset field takes the server's default. */
export interface PoolSpecInput {
  /** Defaults: poolMin 1, poolMax 10, bufferMin 0, bufferMax 10. */
  capacity?: Partial<PoolCapacity>;
  /** Sandboxes per agent, 1–1000 (default 5). */
  maxSandboxesPerPod?: number;
  /** Default `container`. */
  runtimeType?: RuntimeType;
  prewarm?: PrewarmTemplateInput[];
  /** A Kubernetes Pod template for the agents (Kubernetes mode only). */
  agentTemplate?: Record<string, unknown>;
  /**
   * The network of its sandboxes: mode (default `isolated`), egress rules, and whether a sandbox
   * may choose its own (docs/network.md).
   */
  network?: {
    mode?: "isolated" | "none" | "agent";
    egress?: { default?: "allow" | "deny"; allow?: string[]; deny?: string[] };
    allowSandboxOverride?: boolean;
  };
  /** The seccomp filter of its sandboxes; default `RuntimeDefault` (docs/security.md). */
  seccompProfile?: { type: "RuntimeDefault" | "Unconfined" | "Localhost"; localhostProfile?: string };
}

/** A pool in the flat form: name, namespace (default: the client's), labels and spec. */
export interface PoolInput {
  name: string;
  namespace?: string;
  /** Replace the pool's labels. */
  labels?: Record<string, string>;
  /**
   * Replace the pool's annotations. Standalone reads `sandbox.fast.io/containerd-namespace`: the
   * containerd namespace of that pool's local agents.
   */
  annotations?: Record<string, string>;
  spec?: PoolSpecInput;
}

/** A pool as a Kubernetes-style SandboxPool object, such as one parsed from YAML. */
export interface PoolManifest {
  /** `sandbox.fast.io/v1alpha1` when given. */
  apiVersion?: string;
  /** `SandboxPool` when given. */
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: PoolSpecInput;
}

/** The flat form of either input; a manifest with another apiVersion or kind is an InvalidArgumentError. */
export function toPoolInput(pool: PoolManifest | PoolInput): PoolInput {
  if (!("metadata" in pool)) return pool;
  if (pool.apiVersion !== undefined && pool.apiVersion !== POOL_API_VERSION)
    throw invalid("apiVersion", `must be ${POOL_API_VERSION}, not ${JSON.stringify(pool.apiVersion)}`);
  if (pool.kind !== undefined && pool.kind !== POOL_KIND)
    throw invalid("kind", `must be ${POOL_KIND}, not ${JSON.stringify(pool.kind)}`);
  const { name, namespace, labels, annotations } = pool.metadata;
  return {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(labels !== undefined ? { labels } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
    ...(pool.spec !== undefined ? { spec: pool.spec } : {}),
  };
}

/** The wire request; `defaultNamespace` applies when the pool names none. */
export function toApplyPoolRequest(
  pool: PoolManifest | PoolInput,
  defaultNamespace: string,
): ApplyPoolRequest {
  const input = toPoolInput(pool);
  const spec = input.spec ?? {};
  return create(ApplyPoolRequestSchema, {
    name: input.name,
    namespace: input.namespace ?? defaultNamespace,
    labels: { ...input.labels },
    annotations: { ...input.annotations },
    spec: {
      ...(spec.capacity ? { capacity: definedOnly(spec.capacity) } : {}),
      ...(spec.maxSandboxesPerPod !== undefined ? { maxSandboxesPerPod: spec.maxSandboxesPerPod } : {}),
      runtimeType: spec.runtimeType ?? "",
      prewarm: (spec.prewarm ?? []).map((t) => ({
        image: t.image,
        command: t.command ?? [],
        args: t.args ?? [],
        env: (t.env ?? []).map((e) => ({ name: e.name, value: e.value ?? "" })),
        count: t.count,
      })),
      ...(spec.agentTemplate ? { agentTemplate: toJsonObject(spec.agentTemplate) } : {}),
      ...(spec.network ? { network: poolNetworkRequest(spec.network) } : {}),
      ...(spec.seccompProfile
        ? {
            seccompProfile: {
              type: spec.seccompProfile.type,
              localhostProfile: spec.seccompProfile.localhostProfile ?? "",
            },
          }
        : {}),
    },
  });
}

/** Unset capacity fields stay unset on the wire (proto3 `optional`), so the server's defaults apply. */
function definedOnly(capacity: Partial<PoolCapacity>): Partial<PoolCapacity> {
  return Object.fromEntries(Object.entries(capacity).filter(([, v]) => v !== undefined));
}

/** A Struct holds JSON only: Dates become strings and undefined values go, as in JSON.stringify. */
function toJsonObject(value: Record<string, unknown>): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

function invalid(field: string, detail: string): InvalidArgumentError {
  return new InvalidArgumentError(detail, {
    code: "invalid_argument",
    field,
    hint: "fix the request and try again",
  });
}

function poolNetworkRequest(network: NonNullable<PoolSpecInput["network"]>) {
  const { egress } = network;
  return {
    mode: network.mode ?? "",
    allowSandboxOverride: network.allowSandboxOverride ?? false,
    ...(egress
      ? { egress: { default: egress.default ?? "", allow: egress.allow ?? [], deny: egress.deny ?? [] } }
      : {}),
  };
}

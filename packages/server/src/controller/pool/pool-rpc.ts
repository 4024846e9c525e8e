/** SandboxPoolService over Connect: wire messages in, PoolApi calls, PoolInfo out. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { DEFAULT_NETWORK_MODE, invalidArgument, type SandboxPoolSpec } from "@fast-sandbox/api";
import {
  type PoolInfo,
  PoolInfoSchema,
  type PoolSpec,
  type SandboxPoolService,
} from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import type { PoolApi, PoolView } from "./pool-api.ts";

export function poolRpc(api: PoolApi): ServiceImpl<typeof SandboxPoolService> {
  return {
    async applyPool(req) {
      const result = await api.apply({
        namespace: req.namespace,
        name: required(req.name, "name"),
        spec: specFromWire(req.spec),
        labels: req.labels,
        annotations: req.annotations,
      });
      return { pool: toPoolInfo(result.pool), created: result.created, changed: result.changed };
    },
    async getPool(req) {
      return toPoolInfo(await api.get(req.namespace, required(req.name, "name")));
    },
    async listPools(req) {
      const views = await api.list(req.allNamespaces ? undefined : req.namespace || "default");
      return { pools: views.map(toPoolInfo) };
    },
    async deletePool(req) {
      await api.delete(req.namespace, required(req.name, "name"), req.force);
      return {};
    },
  };
}

/** The wire spec as the resource's plain shape; validation (and defaults) happen in PoolApi. */
export function specFromWire(spec: PoolSpec | undefined): unknown {
  if (!spec) return {};
  const out: Record<string, unknown> = {};
  const c = spec.capacity;
  if (c) {
    const capacity: Record<string, number> = {};
    if (c.poolMin !== undefined) capacity.poolMin = c.poolMin;
    if (c.poolMax !== undefined) capacity.poolMax = c.poolMax;
    if (c.bufferMin !== undefined) capacity.bufferMin = c.bufferMin;
    if (c.bufferMax !== undefined) capacity.bufferMax = c.bufferMax;
    out.capacity = capacity;
  }
  if (spec.maxSandboxesPerPod !== undefined) out.maxSandboxesPerPod = spec.maxSandboxesPerPod;
  if (spec.runtimeType) out.runtimeType = spec.runtimeType;
  if (spec.agentTemplate) out.agentTemplate = spec.agentTemplate;
  const network = spec.network;
  if (network) {
    out.network = {
      ...(network.mode ? { mode: network.mode } : {}),
      ...(network.egress ? { egress: egressFromWire(network.egress) } : {}),
      ...(network.allowSandboxOverride ? { allowSandboxOverride: true } : {}),
    };
  }
  if (spec.seccompProfile) {
    const { type, localhostProfile } = spec.seccompProfile;
    out.seccompProfile = { type, ...(localhostProfile ? { localhostProfile } : {}) };
  }
  if (spec.prewarm.length) {
    out.prewarm = spec.prewarm.map((t) => ({
      image: t.image,
      ...(t.command.length ? { command: t.command } : {}),
      ...(t.args.length ? { args: t.args } : {}),
      ...(t.env.length ? { env: t.env.map((e) => ({ name: e.name, value: e.value })) } : {}),
      count: t.count,
    }));
  }
  return out;
}

export function toPoolInfo(view: PoolView): PoolInfo {
  const { pool, agents } = view;
  const spec: SandboxPoolSpec = pool.spec;
  const status = pool.status ?? {};
  const created = Date.parse(pool.metadata.creationTimestamp);
  return create(PoolInfoSchema, {
    name: pool.metadata.name,
    namespace: pool.metadata.namespace,
    uid: pool.metadata.uid,
    spec: {
      capacity: { ...spec.capacity },
      maxSandboxesPerPod: spec.maxSandboxesPerPod,
      runtimeType: spec.runtimeType ?? "container",
      prewarm: (spec.prewarm ?? []).map((t) => ({
        image: t.image,
        command: t.command ?? [],
        args: t.args ?? [],
        env: t.env ?? [],
        count: t.count,
      })),
      ...(spec.agentTemplate ? { agentTemplate: spec.agentTemplate as PoolSpec["agentTemplate"] } : {}),
      network: {
        mode: spec.network?.mode ?? DEFAULT_NETWORK_MODE,
        ...(spec.network?.egress ? { egress: spec.network.egress } : {}),
        allowSandboxOverride: spec.network?.allowSandboxOverride ?? false,
      },
      seccompProfile: {
        type: spec.seccompProfile?.type ?? "RuntimeDefault",
        localhostProfile: spec.seccompProfile?.localhostProfile ?? "",
      },
    },
    labels: pool.metadata.labels,
    annotations: pool.metadata.annotations,
    ...(Number.isNaN(created) ? {} : { createdAt: timestampFromDate(new Date(created)) }),
    generation: BigInt(pool.metadata.generation),
    observedGeneration: BigInt(status.observedGeneration ?? 0),
    currentAgents: status.currentAgents ?? 0,
    readyAgents: status.readyAgents ?? 0,
    totalSlots: status.totalSlots ?? 0,
    allocatedSlots: status.allocatedSlots ?? 0,
    conditions: (status.conditions ?? []).map((c) => {
      const at = Date.parse(c.lastTransitionTime);
      return {
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        ...(Number.isNaN(at) ? {} : { lastTransitionTime: timestampFromDate(new Date(at)) }),
      };
    }),
    agents: agents.map((a) => ({
      id: a.id,
      node: a.node,
      healthy: a.healthy,
      draining: a.draining,
      capacity: a.capacity,
      allocated: a.allocated,
      prewarmReady: a.prewarmReady,
      launchState: a.launchState ?? "",
    })),
    resourceVersion: pool.metadata.resourceVersion,
  });
}

function required(value: string, field: string): string {
  if (!value) throw invalidArgument(field, "is required");
  return value;
}

/** Wire egress rules as the spec's; an empty default means "allow", as proto3 cannot leave it unset. */
function egressFromWire(egress: {
  default: string;
  allow: string[];
  deny: string[];
}): Record<string, unknown> {
  return { default: egress.default || "allow", allow: [...egress.allow], deny: [...egress.deny] };
}

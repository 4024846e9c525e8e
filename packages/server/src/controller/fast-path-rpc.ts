/** FastPathService over Connect: wire messages in, domain calls, SandboxInfo out. */
import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { invalidArgument, type ConsistencyMode as Mode, type SandboxSpec } from "@fast-sandbox/api";
import {
  ConsistencyMode,
  type CreateRequest,
  FailurePolicy,
  type FastPathService,
  LogChunkSchema,
  WatchEvent_Type,
  WatchEventSchema,
} from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import type { CreateSandboxInput, FastPath, WatchEventKind } from "./fast-path.ts";
import { toSandboxInfo } from "./sandbox-info.ts";

const watchTypes: Record<WatchEventKind, WatchEvent_Type> = {
  ADDED: WatchEvent_Type.ADDED,
  MODIFIED: WatchEvent_Type.MODIFIED,
  DELETED: WatchEvent_Type.DELETED,
  SYNCED: WatchEvent_Type.SYNCED,
};

/** The service implementation; errors are FsbErrors, which the server's error boundary maps to codes. */
export function fastPathRpc(fastPath: FastPath): ServiceImpl<typeof FastPathService> {
  return {
    async createSandbox(req, context) {
      const started = performance.now();
      const timeoutMs = context.timeoutMs();
      const { sandbox, created } = await fastPath.create(createInput(req), {
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        signal: clientGone(context.signal),
      });
      return {
        sandbox: toSandboxInfo(sandbox),
        created,
        createLatencyMs: performance.now() - started,
      };
    },
    async deleteSandbox(req) {
      await fastPath.delete(req.namespace, required(req.name, "name"), req.gracePeriodSeconds);
      return {};
    },
    async updateSandbox(req) {
      const sandbox = await fastPath.update({
        name: required(req.name, "name"),
        namespace: req.namespace,
        labels: req.labels,
        ...(req.expiry.case === "expireTime"
          ? { expireTime: timestampDate(req.expiry.value).toISOString() }
          : {}),
        ...(req.expiry.case === "clearExpireTime" ? { clearExpireTime: req.expiry.value } : {}),
        ...(failurePolicy(req.failurePolicy) ? { failurePolicy: failurePolicy(req.failurePolicy) } : {}),
        ...(req.recoveryTimeoutSeconds === undefined
          ? {}
          : { recoveryTimeoutSeconds: req.recoveryTimeoutSeconds }),
        reset: req.reset,
      });
      return { sandbox: toSandboxInfo(sandbox) };
    },
    async listSandboxes(req) {
      const sandboxes = await fastPath.list(req.namespace, req.labelSelector);
      return { sandboxes: sandboxes.map(toSandboxInfo) };
    },
    async getSandbox(req) {
      return toSandboxInfo(await fastPath.get(req.namespace, required(req.name, "name")));
    },
    async *watchSandboxes(req, context) {
      for await (const event of fastPath.watch(req.namespace, req.labelSelector, context.signal)) {
        yield create(WatchEventSchema, {
          type: watchTypes[event.type],
          ...(event.sandbox ? { sandbox: toSandboxInfo(event.sandbox) } : {}),
        });
      }
    },
    async *getSandboxLogs(req, context) {
      const options = {
        follow: req.follow,
        ...(req.tailLines === undefined ? {} : { tailLines: req.tailLines }),
      };
      for await (const data of fastPath.logs(
        req.namespace,
        required(req.name, "name"),
        options,
        context.signal,
      )) {
        yield create(LogChunkSchema, { data });
      }
    },
  };
}

/** The wire create as a domain input. Zero values mean "not given", as proto3 has no other way to say it. */
export function createInput(req: CreateRequest): CreateSandboxInput {
  const spec: SandboxSpec = { image: req.image };
  if (req.command.length) spec.command = req.command;
  if (req.args.length) spec.args = req.args;
  if (req.env.length) spec.env = req.env.map((e) => ({ name: e.name, value: e.value }));
  if (req.workingDir) spec.workingDir = req.workingDir;
  if (req.exposedPorts.length) spec.exposedPorts = req.exposedPorts;
  if (req.poolRef) spec.poolRef = req.poolRef;
  const policy = failurePolicy(req.failurePolicy);
  if (policy) spec.failurePolicy = policy;
  if (req.recoveryTimeoutSeconds !== undefined) spec.recoveryTimeoutSeconds = req.recoveryTimeoutSeconds;
  if (req.expireTime) spec.expireTime = timestampDate(req.expireTime).toISOString();
  if (req.resources) {
    const resources: NonNullable<SandboxSpec["resources"]> = {};
    if (req.resources.cpu) resources.cpu = req.resources.cpu;
    if (req.resources.memory) resources.memory = req.resources.memory;
    if (req.resources.pids !== undefined) resources.pids = req.resources.pids;
    if (Object.keys(resources).length) spec.resources = resources;
  }
  const network = networkInput(req.network);
  if (network) spec.network = network;
  const mode = consistencyMode(req.consistencyMode);
  return {
    name: req.name,
    namespace: req.namespace,
    labels: req.labels,
    spec,
    ...(mode ? { consistencyMode: mode } : {}),
  };
}

function consistencyMode(value: ConsistencyMode): Mode | undefined {
  switch (value) {
    case ConsistencyMode.UNSPECIFIED:
      return undefined;
    case ConsistencyMode.FAST:
      return "fast";
    case ConsistencyMode.STRONG:
      return "strong";
    default:
      throw invalidArgument("consistencyMode", `${value} is not a known consistency mode`);
  }
}

function failurePolicy(value: FailurePolicy): SandboxSpec["failurePolicy"] {
  switch (value) {
    case FailurePolicy.UNSPECIFIED:
      return undefined;
    case FailurePolicy.MANUAL:
      return "Manual";
    case FailurePolicy.AUTO_RECREATE:
      return "AutoRecreate";
    default:
      throw invalidArgument("failurePolicy", `${value} is not a known failure policy`);
  }
}

function required(value: string, field: string): string {
  if (!value) throw invalidArgument(field, "is required");
  return value;
}

/**
 * The call's signal without its deadline: the create keeps the deadline on its own clock (and says
 * what it waited for when it passes), so only the client going away or the server stopping may
 * cut it short.
 */
function clientGone(signal: AbortSignal): AbortSignal {
  const gone = new AbortController();
  const onAbort = () => {
    const reason: unknown = signal.reason;
    if (!(reason instanceof ConnectError && reason.code === Code.DeadlineExceeded)) gone.abort(reason);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return gone.signal;
}

/** The wire network settings, or undefined when they say nothing; validation comes later, naming the field. */
function networkInput(network: CreateRequest["network"]): SandboxSpec["network"] {
  if (!network) return undefined;
  const out: NonNullable<SandboxSpec["network"]> = {};
  if (network.mode) out.mode = network.mode as NonNullable<SandboxSpec["network"]>["mode"];
  const { egress } = network;
  if (egress) {
    out.egress = {
      default: (egress.default || "allow") as "allow" | "deny",
      allow: [...egress.allow],
      deny: [...egress.deny],
    };
  }
  return out.mode || out.egress ? out : undefined;
}

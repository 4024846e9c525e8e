/** What a controller replica that does not hold the Lease serves: probes, and an API that says where to go. */
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { FastPathService } from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { FileService } from "@fast-sandbox/api/gen/fastsandbox/v1/files_pb.ts";
import { SandboxPoolService } from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import { ProcessService } from "@fast-sandbox/api/gen/fastsandbox/v1/process_pb.ts";
import {
  type ApiRequest,
  type ApiResponse,
  type ApiServer,
  createApiServer,
} from "../api-server/api-server.ts";
import type { BindAddress } from "../core/bind-address.ts";
import { plainRoute, startPlainHttpServer } from "../http/plain-http-server.ts";
import { RouteTable } from "../http/route-table.ts";
import { probeRoutes } from "./controller-routes.ts";

/** Response header (gRPC: trailer) of a follower's refusal: the Lease holder's identity. */
export const LEADER_HEADER = "fsb-leader";

export interface FollowerApiOptions {
  api: BindAddress;
  health: BindAddress;
  token: string | undefined;
  /** The Lease holder as last read, for the error (undefined while nobody holds it or before the first read). */
  leader: () => string | undefined;
}

/**
 * Only the leader has the registry (agents, slots, ports), so a follower cannot place a sandbox
 * and must not answer reads from a registry it does not keep. It answers every RPC with
 * UNAVAILABLE naming the leader in the message and the {@link LEADER_HEADER} header: retryable, and clients retry it. /readyz stays 503, so a Service
 * sends traffic only to the leader and clients rarely meet a follower at all.
 */
export async function startFollowerApi(o: FollowerApiOptions): Promise<{ stop(): Promise<void> }> {
  const refuse = () => {
    const leader = o.leader();
    const who = leader ? `the leader is ${leader}` : "no leader is elected yet";
    // The header lets a client (or a person with curl -i) find the leader without parsing the message.
    return new ConnectError(
      `this controller replica is not the leader (${who}); retry shortly`,
      Code.Unavailable,
      leader ? { [LEADER_HEADER]: leader } : undefined,
    );
  };
  const probes = probeRoutes(() => false, "ready", "follower");
  const probeServer = await startPlainHttpServer(o.health, probes);
  const apiProbes = new RouteTable<ApiRequest, ApiResponse>({
    "/healthz": plainRoute(probes["/healthz"]!),
    "/readyz": plainRoute(probes["/readyz"]!),
  });
  const api: ApiServer = createApiServer({
    routes: (router) => {
      router.service(FastPathService, refusing(FastPathService, refuse));
      router.service(SandboxPoolService, refusing(SandboxPoolService, refuse));
      router.service(ProcessService, refusing(ProcessService, refuse));
      router.service(FileService, refusing(FileService, refuse));
    },
    ...(o.token ? { token: o.token } : { insecure: true }),
    extraHttpHandler: (req, res) => apiProbes.serve(req, res),
  });
  try {
    await api.listen(o.api.port, o.api.host || undefined);
  } catch (err) {
    await probeServer.stop();
    throw err;
  }
  return {
    async stop() {
      await api.close();
      await probeServer.stop();
    },
  };
}

/** An implementation of every method of `service` that fails with `error()`, streams included. */
function refusing<S extends DescService>(service: S, error: () => Error): ServiceImpl<S> {
  const impl: Record<string, unknown> = {};
  for (const method of service.methods) {
    impl[method.localName] =
      method.methodKind === "server_streaming"
        ? // biome-ignore lint/correctness/useYield: the stream fails before its first message.
          async function* () {
            throw error();
          }
        : async () => {
            throw error();
          };
  }
  return impl as ServiceImpl<S>;
}

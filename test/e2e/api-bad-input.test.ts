// Bad input for every RPC, over Connect JSON, Connect binary and gRPC, to a real controller with
// real agents: each is refused with the right code and the field named, nothing crashes, and the
// codes seen match the per-RPC table of docs/api.md.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DescMethod } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { FastPathService } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { FileService } from "../../packages/api/gen/fastsandbox/v1/files_pb.ts";
import { SandboxPoolService } from "../../packages/api/gen/fastsandbox/v1/pool_pb.ts";
import { ProcessService } from "../../packages/api/gen/fastsandbox/v1/process_pb.ts";
import { BadRequestSchema } from "../../packages/api/gen/google/rpc/error_details_pb.ts";
import { checkCodesAgainstDocs, type ObservedCodes } from "../harness/api-codes-doc.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { rawCall } from "../harness/raw-rpc.ts";
import { type BadInputCase, badInputCases, KEPT_SANDBOX, keptSandbox } from "./api-bad-input-cases.ts";

const services = [FastPathService, SandboxPoolService, ProcessService, FileService] as const;
type Transport = "connect-json" | "connect-binary" | "grpc";
type AnyClient = Record<string, (req: unknown, options?: { signal?: AbortSignal }) => unknown>;

/** How long one refused call may take; a call that is not refused (a stream that stays open) fails here. */
const CALL_TIMEOUT_MS = 10_000;

describe("bad input to the API", () => {
  let ctl: ControllerProcess;
  const conn = testConnection();
  const clients = new Map<string, AnyClient>();
  const observed: ObservedCodes = new Map();

  before(async () => {
    ctl = await startControllerProcess({ socketPath: (await conn).socketPath, localAgents: 1, capacity: 3 });
    for (const transport of ["connect-json", "connect-binary", "grpc"] as const) {
      for (const token of [ctl.token, "wrong-token"]) {
        for (const service of services) {
          clients.set(
            `${transport}/${token}/${service.typeName}`,
            clientOf(ctl.url, transport, token, service) as AnyClient,
          );
        }
      }
    }
    await ctl.client.createSandbox(keptSandbox);
  });
  after(async () => {
    await ctl.cleanup();
    (await conn).close();
  });

  /** Sends a case on one transport; the error it got (or undefined). */
  async function send(c: BadInputCase, transport: Transport): Promise<ConnectError | undefined> {
    const token = c.wrongToken ? "wrong-token" : ctl.token;
    if ("message" in c.request) {
      const client = clients.get(`${transport}/${token}/${c.method.parent.typeName}`)!;
      return callClient(client, c.method, c.request.message);
    }
    const raw = "json" in c.request ? Buffer.from(c.request.json) : c.request.binary;
    const format = "json" in c.request ? "json" : "proto";
    const wire = transport === "grpc" ? "grpc" : "connect";
    return rawCall({
      baseUrl: ctl.url,
      token,
      method: c.method,
      wire,
      format,
      body: raw,
      timeoutMs: CALL_TIMEOUT_MS,
    });
  }

  it(`refuses ${badInputCases.length} bad inputs on every transport with the right code and field`, async () => {
    assert.ok(badInputCases.length >= 150, `only ${badInputCases.length} cases`);
    const failures: string[] = [];
    for (const c of badInputCases) {
      for (const transport of transportsOf(c)) {
        const err = await send(c, transport).catch((e: unknown) => ConnectError.from(e));
        const label = `${c.name} [${transport}]`;
        if (!err) {
          failures.push(`${label}: accepted`);
          continue;
        }
        record(observed, c.method, err.code);
        const field = err.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field;
        if (err.code !== c.code || field !== c.field) {
          failures.push(
            `${label}: got ${Code[err.code]} field ${field ?? "-"} (${err.rawMessage.slice(0, 160)}), want ${Code[c.code]} field ${c.field ?? "-"}`,
          );
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  it("leaves the controller and its agent running, and a normal create works", async () => {
    process.kill(ctl.pid, 0);
    const pool = await ctl.pools.getPool({ name: "default-pool" });
    assert.ok(pool.agents.length > 0 && pool.agents.every((a) => a.healthy), JSON.stringify(pool.agents));
    const created = await ctl.grpc.createSandbox({
      name: "after",
      image: "busybox",
      command: ["sleep", "600"],
    });
    assert.equal(created.sandbox?.phase, "Running");
    await ctl.client.deleteSandbox({ name: "after", gracePeriodSeconds: 0 });
    await ctl.client.deleteSandbox({ name: KEPT_SANDBOX, gracePeriodSeconds: 0 });
  });

  it("answers with codes docs/api.md lists for each RPC, and the table lists nothing unseen", async () => {
    assert.deepEqual(await checkCodesAgainstDocs(observed), []);
  });
});

/** Messages go through the three generated-client transports; raw JSON and raw bytes through the two that carry them. */
function transportsOf(c: BadInputCase): Transport[] {
  if ("message" in c.request) return ["connect-json", "connect-binary", "grpc"];
  return "json" in c.request ? ["connect-json", "grpc"] : ["connect-binary", "grpc"];
}

function clientOf(baseUrl: string, transport: Transport, token: string, service: (typeof services)[number]) {
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const t =
    transport === "grpc"
      ? createGrpcTransport({ baseUrl, interceptors: [auth] })
      : createConnectTransport({
          baseUrl,
          httpVersion: "1.1",
          useBinaryFormat: transport === "connect-binary",
          interceptors: [auth],
        });
  return createClient(service, t) as Client<typeof service>;
}

async function callClient(
  client: AnyClient,
  method: DescMethod,
  message: Record<string, unknown>,
): Promise<ConnectError | undefined> {
  const call = client[method.localName]!;
  const signal = AbortSignal.timeout(CALL_TIMEOUT_MS);
  try {
    if (method.methodKind === "unary") {
      await call(message, { signal });
    } else {
      for await (const _ of call(message, { signal }) as AsyncIterable<unknown>) {
        // A refused stream fails before or at its first message; reading on is waiting for that.
      }
    }
    return undefined;
  } catch (err) {
    return ConnectError.from(err);
  }
}

function record(observed: ObservedCodes, method: DescMethod, code: Code): void {
  const codes = observed.get(method.name) ?? new Set<Code>();
  codes.add(code);
  observed.set(method.name, codes);
}

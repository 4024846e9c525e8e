// A follower replica: live but not ready, and every RPC (streams too) refused as retryable UNAVAILABLE.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { FastPathService } from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { SandboxPoolService } from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import { ProcessService } from "@fast-sandbox/api/gen/fastsandbox/v1/process_pb.ts";
import { freePort } from "../core/free-port.ts";
import { LEADER_HEADER, startFollowerApi } from "./follower-api.ts";

describe("follower API", () => {
  let stop: () => Promise<void>;
  let apiPort: number;
  let healthPort: number;
  before(async () => {
    apiPort = await freePort();
    healthPort = await freePort();
    const follower = await startFollowerApi({
      api: { host: "127.0.0.1", port: apiPort },
      health: { host: "127.0.0.1", port: healthPort },
      token: "secret",
      leader: () => "controller-7f9c_abc",
    });
    stop = () => follower.stop();
  });
  after(() => stop());

  const transport = () =>
    createConnectTransport({
      baseUrl: `http://127.0.0.1:${apiPort}`,
      httpVersion: "1.1",
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", "Bearer secret");
          return next(req);
        },
      ],
    });
  const refused = (err: unknown) =>
    err instanceof ConnectError &&
    err.code === Code.Unavailable &&
    /not the leader \(the leader is controller-7f9c_abc\)/.test(err.message) &&
    err.metadata.get(LEADER_HEADER) === "controller-7f9c_abc";

  it("is live but not ready", async () => {
    assert.equal((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).status, 503);
    assert.equal((await fetch(`http://127.0.0.1:${apiPort}/readyz`)).status, 503);
  });

  it("refuses unary calls of every service with UNAVAILABLE naming the leader", async () => {
    const sandboxes = createClient(FastPathService, transport());
    await assert.rejects(sandboxes.createSandbox({ name: "x", image: "busybox" }), refused);
    await assert.rejects(sandboxes.listSandboxes({}), refused);
    const pools = createClient(SandboxPoolService, transport());
    await assert.rejects(pools.listPools({}), refused);
    const processes = createClient(ProcessService, transport());
    await assert.rejects(processes.listProcesses({ name: "x" }), refused);
    await assert.rejects(
      processes.sendInput({ name: "x", processId: "p1", data: new Uint8Array([1]) }),
      refused,
    );
  });

  it("refuses streams the same way", async () => {
    const sandboxes = createClient(FastPathService, transport());
    await assert.rejects(async () => {
      for await (const _ of sandboxes.watchSandboxes({})) break;
    }, refused);
    const processes = createClient(ProcessService, transport());
    await assert.rejects(async () => {
      for await (const _ of processes.exec({ name: "x", command: ["sh"] })) break;
    }, refused);
  });

  it("puts the leader in a response header a plain HTTP client sees", async () => {
    const res = await fetch(`http://127.0.0.1:${apiPort}/fastsandbox.v1.FastPathService/ListSandboxes`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer secret" },
      body: "{}",
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get(LEADER_HEADER), "controller-7f9c_abc");
    assert.match(((await res.json()) as { message: string }).message, /the leader is controller-7f9c_abc/);
  });

  it("still wants the token", async () => {
    const anonymous = createClient(
      FastPathService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${apiPort}`, httpVersion: "1.1" }),
    );
    await assert.rejects(
      anonymous.listSandboxes({}),
      (err: unknown) => err instanceof ConnectError && err.code === Code.Unauthenticated,
    );
  });
});

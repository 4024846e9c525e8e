// `fsb.pools` over a real Connect transport against an in-process fake SandboxPoolService.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  type ApplyPoolRequest,
  type DeletePoolRequest,
  type ListPoolsRequest,
  PoolInfoSchema,
  SandboxPoolService,
} from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import { FastSandbox } from "./client.ts";
import { FastSandboxError, NotFoundError } from "./errors.ts";

const TOKEN = "t0ken";

/** What the fake answers next, and what it was asked. */
const fake = {
  applied: [] as ApplyPoolRequest[],
  listed: [] as ListPoolsRequest[],
  deleted: [] as DeletePoolRequest[],
  authorization: [] as string[],
  apply: { created: false, changed: false },
  delayMs: 0,
};

const service: Partial<ServiceImpl<typeof SandboxPoolService>> = {
  async applyPool(request, context) {
    fake.applied.push(request);
    fake.authorization.push(context.requestHeader.get("authorization") ?? "");
    return {
      pool: create(PoolInfoSchema, { name: request.name, namespace: request.namespace, spec: request.spec }),
      ...fake.apply,
    };
  },
  async getPool(request) {
    if (fake.delayMs) await new Promise((r) => setTimeout(r, fake.delayMs));
    throw new ConnectError(`sandboxpool ${request.namespace}/${request.name} not found`, Code.NotFound);
  },
  async listPools(request) {
    fake.listed.push(request);
    return { pools: [create(PoolInfoSchema, { name: "default-pool", namespace: "default" })] };
  },
  async deletePool(request) {
    fake.deleted.push(request);
    if (!request.force)
      throw new ConnectError("pool small-pool still runs 1 sandbox", Code.FailedPrecondition);
    return {};
  },
};

describe("fsb.pools", () => {
  let server: http.Server;
  let fsb: FastSandbox;

  before(async () => {
    server = http.createServer(
      connectNodeAdapter({ routes: (router) => router.service(SandboxPoolService, service) }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    fsb = new FastSandbox({ endpoint: `http://127.0.0.1:${port}`, token: TOKEN, namespace: "team-a" });
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    fake.applied = [];
    fake.listed = [];
    fake.deleted = [];
    fake.authorization = [];
    fake.delayMs = 0;
  });

  const outcomes: Array<[{ created: boolean; changed: boolean }, string]> = [
    [{ created: true, changed: true }, "created"],
    [{ created: false, changed: true }, "configured"],
    [{ created: false, changed: false }, "unchanged"],
  ];
  for (const [answer, outcome] of outcomes) {
    it(`apply reports ${outcome} for created=${answer.created} changed=${answer.changed}`, async () => {
      fake.apply = answer;
      const result = await fsb.pools.apply({ name: "p", spec: { capacity: { poolMax: 2 } } });
      assert.equal(result.outcome, outcome);
      assert.equal(result.pool.name, "p");
      assert.equal(result.pool.spec.capacity.poolMax, 2);
    });
  }

  it("apply sends the token and the client's namespace when the pool names none", async () => {
    await fsb.pools.apply({ metadata: { name: "p" } });
    await fsb.pools.apply({ metadata: { name: "q", namespace: "other" } });
    assert.deepEqual(
      fake.applied.map((r) => `${r.namespace}/${r.name}`),
      ["team-a/p", "other/q"],
    );
    assert.deepEqual(fake.authorization, [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
  });

  it("list asks for one namespace, or for all", async () => {
    const pools = await fsb.pools.list();
    await fsb.pools.list({ allNamespaces: true });
    await fsb.pools.list({ namespace: "x" });
    assert.deepEqual(
      fake.listed.map((r) => [r.namespace, r.allNamespaces]),
      [
        ["team-a", false],
        ["team-a", true],
        ["x", false],
      ],
    );
    assert.deepEqual(
      pools.map((p) => p.name),
      ["default-pool"],
    );
  });

  it("get of a missing pool is a NotFoundError whose hint lists pools", async () => {
    await assert.rejects(fsb.pools.get("nope"), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.match(err.message, /team-a\/nope not found/);
      assert.match(err.hint ?? "", /fsb-ctl pools list -A/);
      return true;
    });
  });

  it("delete of a busy pool fails with failed_precondition and a hint; force is sent", async () => {
    await assert.rejects(fsb.pools.delete("small-pool"), (err: unknown) => {
      assert.ok(err instanceof FastSandboxError);
      assert.equal(err.code, "failed_precondition");
      assert.match(err.hint ?? "", /--force/);
      return true;
    });
    await fsb.pools.delete("small-pool", { force: true, namespace: "ns" });
    assert.deepEqual(
      fake.deleted.map((r) => [r.namespace, r.name, r.force]),
      [
        ["team-a", "small-pool", false],
        ["ns", "small-pool", true],
      ],
    );
  });

  it("honours timeoutMs and signal", async () => {
    fake.delayMs = 2_000;
    await assert.rejects(fsb.pools.get("slow", { timeoutMs: 50 }), (err: unknown) => {
      assert.ok(err instanceof FastSandboxError);
      assert.equal(err.code, "deadline_exceeded");
      return true;
    });
    await assert.rejects(fsb.pools.get("slow", { signal: AbortSignal.timeout(50) }), (err: unknown) => {
      assert.ok(err instanceof FastSandboxError);
      assert.equal(err.code, "cancelled");
      return true;
    });
  });
});

// The input boundary on a real API server: JSON nested too deeply is refused naming its key on unary
// calls and streams alike, and a failure inside the implementation of a parsed request stays INTERNAL.
// (Connection reuse after a refusal is proven by test/e2e/api-bad-input.test.ts, where it failed.)
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { FastPathService } from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { BadRequestSchema } from "@fast-sandbox/api/gen/google/rpc/error_details_pb.ts";
import { rawCall } from "../../../../test/harness/raw-rpc.ts";
import { type ApiServer, createApiServer } from "./api-server.ts";

const fp = FastPathService.method;
const deepJson = (n: number) => `{"name":"a","bogus":${"[".repeat(n)}${"]".repeat(n)}}`;

describe("API input boundary", () => {
  let server: ApiServer;
  let baseUrl: string;
  before(async () => {
    server = createApiServer({
      token: "tok",
      logError: () => {},
      routes: (router) =>
        router.service(FastPathService, {
          getSandbox(req) {
            if (req.name === "boom") throw new Error("a bug");
            return { name: req.name };
          },
          async *watchSandboxes() {},
        }),
    });
    await server.listen(0, "127.0.0.1");
    baseUrl = `http://127.0.0.1:${server.address!.port}`;
  });
  after(() => server.close());

  const call = (method: DescMethod, wire: "connect" | "grpc", body: string) =>
    rawCall({
      baseUrl,
      token: "tok",
      method,
      wire,
      format: "json",
      body: Buffer.from(body),
      timeoutMs: 3_000,
    });

  it("names the top-level key of JSON nested too deeply, on unary calls and streams, over Connect and gRPC", async () => {
    for (const method of [fp.getSandbox, fp.watchSandboxes]) {
      for (const wire of ["connect", "grpc"] as const) {
        const err = await call(method, wire, deepJson(200));
        assert.equal(err?.code, Code.InvalidArgument);
        assert.equal(err.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field, "bogus");
      }
    }
  });

  it("keeps INTERNAL for a failure in the implementation of a request that parsed", async () => {
    for (const wire of ["connect", "grpc"] as const) {
      assert.equal((await call(fp.getSandbox, wire, '{"name":"boom"}'))?.code, Code.Internal);
    }
  });
});

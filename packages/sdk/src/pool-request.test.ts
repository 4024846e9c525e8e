// A pool to apply (manifest or flat form) becomes an ApplyPoolRequest; unset stays unset so defaults apply.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, toJson } from "@bufbuild/protobuf";
import { ApplyPoolRequestSchema, PoolInfoSchema } from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import { InvalidArgumentError } from "./errors.ts";
import { toPoolDetails } from "./pool-info.ts";
import { type PoolInput, type PoolManifest, toApplyPoolRequest } from "./pool-request.ts";

/** The request as Connect JSON: unset fields absent, which is what the server sees. */
function wire(pool: PoolManifest | PoolInput, namespace = "default"): unknown {
  return toJson(ApplyPoolRequestSchema, toApplyPoolRequest(pool, namespace));
}

describe("toApplyPoolRequest", () => {
  const cases: Array<{ name: string; pool: PoolManifest | PoolInput; namespace?: string; want: unknown }> = [
    {
      name: "a bare name: the client's namespace and an empty spec",
      pool: { name: "p" },
      namespace: "team-a",
      want: { name: "p", namespace: "team-a", spec: {} },
    },
    {
      name: "a partial capacity: only the given fields, so the others default",
      pool: { name: "p", spec: { capacity: { poolMax: 2, bufferMin: undefined } } },
      want: { name: "p", namespace: "default", spec: { capacity: { poolMax: 2 } } },
    },
    {
      name: "zeros are sent (poolMin 0 is not unset)",
      pool: { name: "p", spec: { capacity: { poolMin: 0, bufferMax: 0 } } },
      want: { name: "p", namespace: "default", spec: { capacity: { poolMin: 0, bufferMax: 0 } } },
    },
    {
      name: "a manifest: metadata and every spec field",
      pool: {
        apiVersion: "sandbox.fast.io/v1alpha1",
        kind: "SandboxPool",
        metadata: {
          name: "small-pool",
          namespace: "ns",
          labels: { team: "a" },
          annotations: { "sandbox.fast.io/containerd-namespace": "fsb-test" },
        },
        spec: {
          capacity: { poolMin: 1, poolMax: 2, bufferMin: 0, bufferMax: 4 },
          maxSandboxesPerPod: 2,
          runtimeType: "gvisor",
          prewarm: [
            { image: "busybox", command: ["sleep", "600"], env: [{ name: "A", value: "1" }], count: 2 },
          ],
          agentTemplate: { spec: { nodeSelector: { disk: "ssd" } } },
        },
      },
      want: {
        name: "small-pool",
        namespace: "ns",
        labels: { team: "a" },
        annotations: { "sandbox.fast.io/containerd-namespace": "fsb-test" },
        spec: {
          capacity: { poolMin: 1, poolMax: 2, bufferMin: 0, bufferMax: 4 },
          maxSandboxesPerPod: 2,
          runtimeType: "gvisor",
          prewarm: [
            { image: "busybox", command: ["sleep", "600"], env: [{ name: "A", value: "1" }], count: 2 },
          ],
          agentTemplate: { spec: { nodeSelector: { disk: "ssd" } } },
        },
      },
    },
    {
      name: "a manifest without apiVersion and kind, like the flat form",
      pool: { metadata: { name: "p" }, spec: { maxSandboxesPerPod: 1 } },
      want: { name: "p", namespace: "default", spec: { maxSandboxesPerPod: 1 } },
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => assert.deepEqual(wire(tc.pool, tc.namespace), tc.want));
  }

  it("turns agentTemplate values JSON cannot hold into what JSON.stringify makes of them", () => {
    const request = toApplyPoolRequest(
      { name: "p", spec: { agentTemplate: { at: new Date("2030-01-01T00:00:00Z"), gone: undefined } } },
      "default",
    );
    assert.deepEqual(request.spec?.agentTemplate, { at: "2030-01-01T00:00:00.000Z" });
  });

  const refused: Array<[string, PoolManifest, RegExp, string]> = [
    [
      "another apiVersion",
      { apiVersion: "v1", metadata: { name: "p" } },
      /^apiVersion: must be sandbox\.fast\.io\/v1alpha1/,
      "apiVersion",
    ],
    ["another kind", { kind: "Sandbox", metadata: { name: "p" } }, /^kind: must be SandboxPool/, "kind"],
  ];
  for (const [what, pool, message, field] of refused) {
    it(`refuses ${what} with an InvalidArgumentError naming the field`, () => {
      assert.throws(
        () => toApplyPoolRequest(pool, "default"),
        (err: unknown) =>
          err instanceof InvalidArgumentError && message.test(err.message) && err.field === field,
      );
    });
  }

  it("round-trips: a spec applied and echoed back reads as the same spec, defaults filled", () => {
    const request = toApplyPoolRequest(
      {
        name: "p",
        spec: {
          capacity: { poolMin: 2, poolMax: 4 },
          prewarm: [{ image: "busybox", count: 1 }],
          agentTemplate: { metadata: { labels: { a: "b" } } },
          network: { egress: { default: "deny", allow: ["198.51.100.0/24"] }, allowSandboxOverride: true },
          seccompProfile: { type: "Localhost", localhostProfile: "team/strict.json" },
        },
      },
      "default",
    );
    const echoed = toPoolDetails(create(PoolInfoSchema, { name: request.name, spec: request.spec }));
    assert.deepEqual(echoed.spec, {
      capacity: { poolMin: 2, poolMax: 4, bufferMin: 0, bufferMax: 10 },
      maxSandboxesPerPod: 5,
      runtimeType: "container",
      prewarm: [{ image: "busybox", command: [], args: [], env: [], count: 1 }],
      agentTemplate: { metadata: { labels: { a: "b" } } },
      network: {
        mode: "isolated",
        egress: { default: "deny", allow: ["198.51.100.0/24"], deny: [] },
        allowSandboxOverride: true,
      },
      seccompProfile: { type: "Localhost", localhostProfile: "team/strict.json" },
    });
  });
});

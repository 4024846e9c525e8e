import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FsbError } from "./errors.ts";
import { validatePoolSpec } from "./pool-validation.ts";

describe("validatePoolSpec", () => {
  test("an empty spec gets every default", () => {
    assert.deepEqual(validatePoolSpec({}), {
      capacity: { poolMin: 1, poolMax: 10, bufferMin: 0, bufferMax: 10 },
      maxSandboxesPerPod: 5,
      runtimeType: "container",
    });
  });

  test("given values are kept, prewarm images are normalised and empty lists dropped", () => {
    const spec = validatePoolSpec({
      capacity: { poolMin: 0, poolMax: 3, bufferMin: 2, bufferMax: 4 },
      maxSandboxesPerPod: 2,
      runtimeType: "gvisor",
      prewarm: [{ image: "busybox", command: ["sleep", "1d"], args: [], env: [], count: 2 }],
    });
    assert.deepEqual(spec, {
      capacity: { poolMin: 0, poolMax: 3, bufferMin: 2, bufferMax: 4 },
      maxSandboxesPerPod: 2,
      runtimeType: "gvisor",
      prewarm: [{ image: "docker.io/library/busybox:latest", command: ["sleep", "1d"], count: 2 }],
    });
  });

  const seccompKept: Array<{ name: string; seccompProfile: unknown }> = [
    { name: "RuntimeDefault", seccompProfile: { type: "RuntimeDefault" } },
    { name: "Unconfined", seccompProfile: { type: "Unconfined" } },
    {
      name: "Localhost with a file name",
      seccompProfile: { type: "Localhost", localhostProfile: "strict.json" },
    },
    {
      name: "Localhost with a descending path",
      seccompProfile: { type: "Localhost", localhostProfile: "team-a/v1.2/profile_x.json" },
    },
  ];
  for (const c of seccompKept) {
    test(`keeps seccompProfile ${c.name}`, () => {
      assert.deepEqual(
        validatePoolSpec({ seccompProfile: c.seccompProfile }).seccompProfile,
        c.seccompProfile,
      );
    });
  }

  test("leaves seccompProfile out when not given (RuntimeDefault applies)", () => {
    assert.equal("seccompProfile" in validatePoolSpec({}), false);
  });

  const bad: Array<{ name: string; spec: unknown; field: string }> = [
    {
      name: "an unknown seccomp type",
      spec: { seccompProfile: { type: "runtime/default" } },
      field: "spec.seccompProfile.type",
    },
    {
      name: "a seccompProfile without type",
      spec: { seccompProfile: {} },
      field: "spec.seccompProfile.type",
    },
    {
      name: "Localhost without a profile",
      spec: { seccompProfile: { type: "Localhost" } },
      field: "spec.seccompProfile.localhostProfile",
    },
    {
      name: "a profile with RuntimeDefault",
      spec: { seccompProfile: { type: "RuntimeDefault", localhostProfile: "x.json" } },
      field: "spec.seccompProfile.localhostProfile",
    },
    ...["/etc/x.json", "../x.json", "a/../../x.json", "a//b.json", ".hidden", "-flag", "a b.json", ""].map(
      (localhostProfile) => ({
        name: `the Localhost profile ${JSON.stringify(localhostProfile)}`,
        spec: { seccompProfile: { type: "Localhost", localhostProfile } },
        field: "spec.seccompProfile.localhostProfile",
      }),
    ),
    {
      name: "an unknown seccompProfile field",
      spec: { seccompProfile: { type: "Unconfined", path: "x" } },
      field: "spec.seccompProfile.path",
    },
    { name: "poolMax 0", spec: { capacity: { poolMax: 0 } }, field: "spec.capacity.poolMax" },
    { name: "negative poolMin", spec: { capacity: { poolMin: -1 } }, field: "spec.capacity.poolMin" },
    { name: "min above max", spec: { capacity: { poolMin: 4, poolMax: 2 } }, field: "spec.capacity.poolMin" },
    {
      name: "bufferMin above bufferMax",
      spec: { capacity: { bufferMin: 5, bufferMax: 1 } },
      field: "spec.capacity.bufferMin",
    },
    { name: "fractional capacity", spec: { maxSandboxesPerPod: 1.5 }, field: "spec.maxSandboxesPerPod" },
    { name: "zero per agent", spec: { maxSandboxesPerPod: 0 }, field: "spec.maxSandboxesPerPod" },
    { name: "unknown runtime", spec: { runtimeType: "kata" }, field: "spec.runtimeType" },
    { name: "unknown field", spec: { replicas: 3 }, field: "spec.replicas" },
    { name: "prewarm without image", spec: { prewarm: [{ count: 1 }] }, field: "spec.prewarm[0].image" },
    {
      name: "prewarm count too high",
      spec: { prewarm: [{ image: "busybox", count: 21 }] },
      field: "spec.prewarm[0].count",
    },
    {
      name: "prewarm bad env",
      spec: { prewarm: [{ image: "busybox", count: 1, env: [{ name: "A=B", value: "" }] }] },
      field: "spec.prewarm[0].env[0].name",
    },
  ];
  for (const c of bad) {
    test(`rejects ${c.name}, naming ${c.field}`, () => {
      assert.throws(
        () => validatePoolSpec(c.spec),
        (err: unknown) => err instanceof FsbError && err.code === "INVALID_ARGUMENT" && err.field === c.field,
      );
    });
  }
});

// Sandbox spec validation (fields named), normalisation, idempotency comparison and label rules.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isFsbError } from "./errors.ts";
import type { SandboxSpec } from "./sandbox-resource.ts";
import {
  normalizeSandboxSpec,
  sameSandboxSpec,
  validateLabels,
  validateSandboxName,
  validateSandboxSpec,
} from "./sandbox-validation.ts";

function rejects(fn: () => unknown, field: string) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isFsbError(err, ErrorCode.InvalidArgument), String(err));
    assert.equal(err.field, field);
    return true;
  });
}

describe("validateSandboxSpec", () => {
  it("accepts a full spec", () => {
    const spec = {
      image: "alpine:3.20",
      command: ["sh", "-c"],
      args: ["echo hi"],
      env: [{ name: "A", value: "1" }],
      workingDir: "/work",
      exposedPorts: [8080, 9090],
      poolRef: "gpu-pool",
      consistencyMode: "strong",
      failurePolicy: "AutoRecreate",
      recoveryTimeoutSeconds: 30,
      resetRevision: "2026-11-22T10:00:00Z",
      expireTime: "2026-11-22T11:00:00.000Z",
      resources: { cpu: "500m", memory: "256Mi", pids: 100 },
    };
    assert.deepEqual(validateSandboxSpec(spec), spec);
  });

  const bad: Array<{ name: string; spec: Record<string, unknown>; field: string }> = [
    { name: "no image", spec: {}, field: "spec.image" },
    { name: "bad image", spec: { image: "Bad Image" }, field: "spec.image" },
    { name: "port 0", spec: { image: "a", exposedPorts: [0] }, field: "spec.exposedPorts[0]" },
    { name: "duplicate port", spec: { image: "a", exposedPorts: [80, 80] }, field: "spec.exposedPorts[1]" },
    { name: "env name", spec: { image: "a", env: [{ name: "1X", value: "" }] }, field: "spec.env[0].name" },
    { name: "relative workingDir", spec: { image: "a", workingDir: "tmp" }, field: "spec.workingDir" },
    { name: "pool name", spec: { image: "a", poolRef: "Pool_1" }, field: "spec.poolRef" },
    { name: "mode", spec: { image: "a", consistencyMode: "eventual" }, field: "spec.consistencyMode" },
    { name: "policy", spec: { image: "a", failurePolicy: "Always" }, field: "spec.failurePolicy" },
    {
      name: "recovery 0",
      spec: { image: "a", recoveryTimeoutSeconds: 0 },
      field: "spec.recoveryTimeoutSeconds",
    },
    { name: "expireTime", spec: { image: "a", expireTime: "tomorrow" }, field: "spec.expireTime" },
    { name: "cpu", spec: { image: "a", resources: { cpu: "lots" } }, field: "spec.resources.cpu" },
    { name: "memory", spec: { image: "a", resources: { memory: "1Mi" } }, field: "spec.resources.memory" },
    { name: "unknown field", spec: { image: "a", privileged: true }, field: "spec.privileged" },
    { name: "arg with NUL", spec: { image: "a", args: ["a\0b"] }, field: "spec.args[0]" },
  ];
  for (const tc of bad) it(`rejects ${tc.name}`, () => rejects(() => validateSandboxSpec(tc.spec), tc.field));
});

describe("normalizeSandboxSpec", () => {
  it("fills defaults, normalises the image and drops empty lists", () => {
    assert.deepEqual(normalizeSandboxSpec({ image: "busybox", command: [], env: [], exposedPorts: [] }), {
      image: "docker.io/library/busybox:latest",
      poolRef: "default-pool",
      failurePolicy: "Manual",
      recoveryTimeoutSeconds: 60,
    });
  });
});

describe("sameSandboxSpec", () => {
  const base: SandboxSpec = { image: "busybox", command: ["sleep", "1"], env: [{ name: "A", value: "1" }] };
  const cases: Array<{ name: string; other: SandboxSpec; same: boolean }> = [
    { name: "identical", other: { ...base }, same: true },
    {
      name: "another spelling of the image",
      other: { ...base, image: "docker.io/library/busybox" },
      same: true,
    },
    {
      name: "defaults written out",
      other: { ...base, poolRef: "default-pool", failurePolicy: "Manual" },
      same: true,
    },
    { name: "a recomputed expiry", other: { ...base, expireTime: "2030-01-01T00:00:00Z" }, same: true },
    { name: "another command", other: { ...base, command: ["sleep", "2"] }, same: false },
    { name: "another env value", other: { ...base, env: [{ name: "A", value: "2" }] }, same: false },
    { name: "another pool", other: { ...base, poolRef: "other" }, same: false },
    { name: "ports", other: { ...base, exposedPorts: [80] }, same: false },
  ];
  for (const tc of cases) it(tc.name, () => assert.equal(sameSandboxSpec(base, tc.other), tc.same));
});

describe("validateLabels and validateSandboxName", () => {
  it("accepts Kubernetes-style labels", () => {
    const labels = { app: "web", "example.com/team": "a-b_c.d", empty: "" };
    assert.deepEqual(validateLabels(labels), labels);
  });
  const bad: Array<{ name: string; labels: Record<string, string>; field: string }> = [
    { name: "a key with spaces", labels: { "a b": "x" }, field: 'labels["a b"]' },
    {
      name: "our reserved prefix",
      labels: { "sandbox.fast.io/agent": "x" },
      field: 'labels["sandbox.fast.io/agent"]',
    },
    { name: "a long value", labels: { app: "x".repeat(64) }, field: "labels.app" },
    { name: "a value with a slash", labels: { app: "a/b" }, field: "labels.app" },
  ];
  for (const tc of bad) it(`rejects ${tc.name}`, () => rejects(() => validateLabels(tc.labels), tc.field));
  it("rejects a name that is not a DNS label", () => rejects(() => validateSandboxName("My_Box"), "name"));
});

// Unit tests of the sandbox spec hash and of the container labels that carry a sandbox's identity.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Labels, managedByValue } from "@fast-sandbox/api";
import {
  type AgentSandboxSpec,
  identityFromLabels,
  sandboxLabels,
  specHash,
  takenPrewarmLabels,
} from "./sandbox-spec.ts";

function baseSpec(): AgentSandboxSpec {
  return {
    sandboxId: "sbx-1",
    name: "web",
    namespace: "team-a",
    uid: "6f1c2a9e-0d4b-4b8e-9a57-3c2f1e0d9b8a",
    pool: "fast-pool",
    image: "docker.io/library/busybox:latest",
    command: ["/bin/sh"],
    args: ["-c", "sleep 60"],
    env: { ALPHA: "1", BETA: "2", GAMMA: "3" },
    workingDir: "/srv",
    exposedPorts: [80, 443],
    resources: { cpuMillis: 500, memoryBytes: 64 * 1024 * 1024, pids: 100 },
  };
}

const facts = {
  agentId: "node-a",
  pool: "fast-pool",
  createdAt: new Date("2025-01-02T03:04:05.678Z"),
  logPath: "/var/log/fast-sandbox/sbx-1.log",
};

describe("specHash", () => {
  it("is 32 lowercase hex characters and deterministic", () => {
    const hash = specHash(baseSpec());
    assert.match(hash, /^[0-9a-f]{32}$/);
    assert.equal(specHash(baseSpec()), hash);
  });

  const reorderings: Array<{ name: string; spec: () => AgentSandboxSpec }> = [
    {
      name: "env keys in another order",
      spec: () => ({ ...baseSpec(), env: { GAMMA: "3", ALPHA: "1", BETA: "2" } }),
    },
    {
      name: "resources keys in another order",
      spec: () => ({
        ...baseSpec(),
        resources: { pids: 100, memoryBytes: 64 * 1024 * 1024, cpuMillis: 500 },
      }),
    },
    {
      name: "top-level fields in another order",
      spec: () => {
        const s = baseSpec();
        return {
          resources: s.resources,
          exposedPorts: s.exposedPorts,
          workingDir: s.workingDir,
          env: s.env,
          args: s.args,
          command: s.command,
          image: s.image,
          pool: s.pool,
          uid: s.uid,
          namespace: s.namespace,
          name: s.name,
          sandboxId: s.sandboxId,
        };
      },
    },
  ];
  for (const tc of reorderings) {
    it(`is unchanged by ${tc.name}`, () => {
      assert.equal(specHash(tc.spec()), specHash(baseSpec()));
    });
  }

  const changes: Array<{ name: string; change: Partial<AgentSandboxSpec> }> = [
    { name: "sandboxId", change: { sandboxId: "sbx-2" } },
    { name: "name", change: { name: "web-2" } },
    { name: "namespace", change: { namespace: "team-b" } },
    { name: "uid", change: { uid: "other-uid" } },
    { name: "pool set to another", change: { pool: "slow-pool" } },
    { name: "pool unset", change: { pool: undefined } },
    { name: "image", change: { image: "docker.io/library/busybox:1.36" } },
    { name: "command", change: { command: ["/bin/ash"] } },
    { name: "command emptied", change: { command: [] } },
    { name: "args", change: { args: ["-c", "sleep 61"] } },
    { name: "args order", change: { args: ["sleep 60", "-c"] } },
    { name: "an arg moved from args to command", change: { command: ["/bin/sh", "-c"] } },
    { name: "an env value", change: { env: { ...baseSpec().env, BETA: "20" } } },
    { name: "an env entry added", change: { env: { ...baseSpec().env, DELTA: "4" } } },
    { name: "an env entry removed", change: { env: { ALPHA: "1", BETA: "2" } } },
    { name: "an env name", change: { env: { ALPHA: "1", BETA: "2", GAMMAX: "3" } } },
    { name: "workingDir", change: { workingDir: "/tmp" } },
    { name: "workingDir unset", change: { workingDir: undefined } },
    { name: "exposedPorts", change: { exposedPorts: [80, 8443] } },
    { name: "exposedPorts order", change: { exposedPorts: [443, 80] } },
    { name: "exposedPorts emptied", change: { exposedPorts: [] } },
    { name: "resources.cpuMillis", change: { resources: { ...baseSpec().resources, cpuMillis: 501 } } },
    {
      name: "resources.memoryBytes",
      change: { resources: { ...baseSpec().resources, memoryBytes: 128 * 1024 * 1024 } },
    },
    { name: "resources.pids", change: { resources: { ...baseSpec().resources, pids: 101 } } },
    { name: "resources emptied", change: { resources: {} } },
  ];
  for (const tc of changes) {
    it(`changes when ${tc.name} changes`, () => {
      const changed = { ...baseSpec(), ...tc.change };
      assert.notEqual(specHash(changed), specHash(baseSpec()));
    });
  }
});

describe("sandboxLabels", () => {
  it("writes every identity label, with managed-by and the agent", () => {
    const spec = baseSpec();
    assert.deepEqual(sandboxLabels(spec, facts), {
      [Labels.ManagedBy]: managedByValue,
      [Labels.SandboxId]: "sbx-1",
      [Labels.Name]: "web",
      [Labels.Namespace]: "team-a",
      [Labels.Uid]: spec.uid,
      [Labels.Agent]: "node-a",
      [Labels.Pool]: "fast-pool",
      [Labels.Image]: "docker.io/library/busybox:latest",
      [Labels.Ports]: "80,443",
      [Labels.SpecHash]: specHash(spec),
      [Labels.CreatedAt]: "2025-01-02T03:04:05.678Z",
      [Labels.LogPath]: "/var/log/fast-sandbox/sbx-1.log",
      [Labels.Network]: "agent",
    });
  });

  it("writes an isolated sandbox's address and egress rules", () => {
    const egress = { default: "deny" as const, allow: ["198.51.100.0/24"], deny: [] };
    const labels = sandboxLabels(baseSpec(), {
      ...facts,
      network: { mode: "isolated", address: 0x0ad40507, egress },
    });
    assert.equal(labels[Labels.Network], "isolated@10.212.5.7");
    assert.deepEqual(JSON.parse(labels[Labels.Egress] ?? ""), egress);
    assert.deepEqual(identityFromLabels("sbx-1", labels)?.network, {
      mode: "isolated",
      address: 0x0ad40507,
      egress,
    });
  });
});

describe("sandboxLabels → identityFromLabels", () => {
  const cases: Array<{ name: string; spec: AgentSandboxSpec; pool: string }> = [
    { name: "a full spec", spec: baseSpec(), pool: "fast-pool" },
    {
      name: "a spec with no ports, no uid and the agent's pool",
      spec: { ...baseSpec(), uid: "", pool: undefined, exposedPorts: [] },
      pool: "default-pool",
    },
    {
      name: "a spec with one port",
      spec: { ...baseSpec(), exposedPorts: [8080] },
      pool: "fast-pool",
    },
  ];
  for (const tc of cases) {
    it(`round-trips ${tc.name}`, () => {
      const labels = sandboxLabels(tc.spec, { ...facts, pool: tc.pool });
      assert.deepEqual(identityFromLabels(tc.spec.sandboxId, labels), {
        sandboxId: tc.spec.sandboxId,
        containerId: tc.spec.sandboxId,
        name: tc.spec.name,
        namespace: tc.spec.namespace,
        uid: tc.spec.uid,
        pool: tc.pool,
        image: tc.spec.image,
        exposedPorts: tc.spec.exposedPorts,
        specHash: specHash(tc.spec),
        createdAt: facts.createdAt,
        logPath: facts.logPath,
        network: { mode: "agent" },
      });
    });
  }

  it("keeps unrelated labels out of the identity", () => {
    const labels = { ...sandboxLabels(baseSpec(), facts), "io.kubernetes.foo": "bar" };
    const identity = identityFromLabels("sbx-1", labels);
    assert.equal(identity?.sandboxId, "sbx-1");
    assert.deepEqual(Object.keys(identity ?? {}).sort(), [
      "containerId",
      "createdAt",
      "exposedPorts",
      "image",
      "logPath",
      "name",
      "namespace",
      "network",
      "pool",
      "sandboxId",
      "specHash",
      "uid",
    ]);
  });
});

describe("identityFromLabels rejects foreign or incomplete labels", () => {
  const ours = () => sandboxLabels(baseSpec(), facts);
  const without = (key: string) => {
    const labels: Record<string, string> = ours();
    delete labels[key];
    return labels;
  };
  const cases: Array<{ name: string; id: string; labels: Record<string, string> }> = [
    { name: "no labels", id: "sbx-1", labels: {} },
    { name: "missing managed-by", id: "sbx-1", labels: without(Labels.ManagedBy) },
    { name: "another manager", id: "sbx-1", labels: { ...ours(), [Labels.ManagedBy]: "docker" } },
    { name: "missing sandbox-id", id: "sbx-1", labels: without(Labels.SandboxId) },
    { name: "sandbox-id not the container id", id: "sbx-2", labels: ours() },
    { name: "missing created-at", id: "sbx-1", labels: without(Labels.CreatedAt) },
    { name: "bad created-at", id: "sbx-1", labels: { ...ours(), [Labels.CreatedAt]: "yesterday" } },
    { name: "empty created-at", id: "sbx-1", labels: { ...ours(), [Labels.CreatedAt]: "" } },
    { name: "missing log path", id: "sbx-1", labels: without(Labels.LogPath) },
    { name: "relative log path", id: "sbx-1", labels: { ...ours(), [Labels.LogPath]: "logs/sbx-1.log" } },
    { name: "non-numeric port", id: "sbx-1", labels: { ...ours(), [Labels.Ports]: "80,http" } },
    { name: "port 0", id: "sbx-1", labels: { ...ours(), [Labels.Ports]: "0" } },
    { name: "port 65536", id: "sbx-1", labels: { ...ours(), [Labels.Ports]: "65536" } },
    { name: "trailing comma in ports", id: "sbx-1", labels: { ...ours(), [Labels.Ports]: "80," } },
    { name: "spaces in ports", id: "sbx-1", labels: { ...ours(), [Labels.Ports]: "80, 443" } },
    { name: "an unknown network mode", id: "sbx-1", labels: { ...ours(), [Labels.Network]: "bridge" } },
    { name: "isolated without an address", id: "sbx-1", labels: { ...ours(), [Labels.Network]: "isolated" } },
    {
      name: "an address outside isolated",
      id: "sbx-1",
      labels: { ...ours(), [Labels.Network]: "none@10.0.0.1" },
    },
    { name: "a bad address", id: "sbx-1", labels: { ...ours(), [Labels.Network]: "isolated@10.0.0.256" } },
    { name: "egress that is no JSON", id: "sbx-1", labels: { ...ours(), [Labels.Egress]: "{" } },
    {
      name: "egress with a bad CIDR",
      id: "sbx-1",
      labels: { ...ours(), [Labels.Egress]: '{"allow":["x"]}' },
    },
  ];
  for (const tc of cases) {
    it(`undefined for ${tc.name}`, () => {
      assert.equal(identityFromLabels(tc.id, tc.labels), undefined);
    });
  }

  it("still accepts the same labels for the right id (control)", () => {
    assert.notEqual(identityFromLabels("sbx-1", ours()), undefined);
  });
});

describe("takenPrewarmLabels → identityFromLabels", () => {
  const taken = () =>
    takenPrewarmLabels(baseSpec(), { ...facts, pool: "fast-pool", containerId: "pw-0a1b2c3d-1" });

  it("reads back the sandbox it now runs, in the container it kept", () => {
    const identity = identityFromLabels("pw-0a1b2c3d-1", taken());
    assert.equal(identity?.sandboxId, baseSpec().sandboxId);
    assert.equal(identity?.containerId, "pw-0a1b2c3d-1");
    assert.equal(identity?.logPath, facts.logPath);
    assert.equal(identity?.specHash, specHash(baseSpec()));
  });

  it("has the sandbox's labels plus its container id, and no prewarm labels", () => {
    const labels = taken();
    assert.deepEqual(
      { ...labels, [Labels.ContainerId]: undefined },
      { ...sandboxLabels(baseSpec(), { ...facts, pool: "fast-pool" }), [Labels.ContainerId]: undefined },
    );
    assert.equal(labels[Labels.ContainerId], "pw-0a1b2c3d-1");
    assert.equal(labels[Labels.Prewarm], undefined);
    assert.equal(labels[Labels.PrewarmKey], undefined);
  });

  it("is not read as another container's", () => {
    assert.equal(identityFromLabels("pw-other", taken()), undefined);
  });
});

// Unit tests of prewarm templates: which creates match, that a match really builds the same container, labels, and the refill plan.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isManagedContainer, Labels, prewarmKey } from "@fast-sandbox/api";
import type { ImageConfig } from "../containerd/image-config-option.ts";
import type { OciSpec } from "../containerd/oci-spec.ts";
import { buildSandboxOciSpec, type SpecContext } from "./build-oci-spec.ts";
import {
  newPrewarmContainerId,
  type PrewarmObserved,
  type PrewarmStep,
  type PrewarmTemplate,
  planPrewarm,
  prewarmLabels,
  prewarmMatchKey,
  templateSandboxSpec,
  type WarmContainer,
  warmFromLabels,
} from "./prewarm-template.ts";
import type { AgentSandboxSpec } from "./sandbox-spec.ts";

const IMAGE = "docker.io/library/busybox:latest";
const imageConfig: ImageConfig = {
  cmd: ["sh"],
  env: ["PATH=/usr/bin:/bin", "MODE=image"],
  workingDir: "/srv",
};
const context: SpecContext = {
  agentId: "node-a",
  runtime: "container",
  network: { kind: "agent" },
  seccomp: { kind: "runtime-default" },
  agentPid: 4242,
};

const template: PrewarmTemplate = {
  key: prewarmKey({ image: IMAGE, command: ["sleep"], args: ["600"], env: { A: "1" } }),
  image: IMAGE,
  command: ["sleep"],
  args: ["600"],
  env: { A: "1" },
  count: 2,
};

function create(extra: Partial<AgentSandboxSpec> = {}): AgentSandboxSpec {
  return {
    sandboxId: "web-0a1b2c3d",
    name: "web",
    namespace: "team-a",
    uid: "uid-1",
    pool: "fast-pool",
    image: IMAGE,
    command: ["sleep"],
    args: ["600"],
    env: { A: "1" },
    workingDir: undefined,
    exposedPorts: [8080],
    resources: {},
    ...extra,
  };
}

describe("prewarmMatchKey", () => {
  it("a create asking for exactly the template has the template's key", () => {
    assert.equal(prewarmMatchKey(create()), template.key);
  });

  it("name, namespace, uid, pool and exposed ports do not matter", () => {
    const other = create({ name: "x", namespace: "b", uid: "", pool: undefined, exposedPorts: [] });
    assert.equal(prewarmMatchKey(other), template.key);
  });

  const noMatch: Array<[string, Partial<AgentSandboxSpec>]> = [
    ["a working directory (even the image's)", { workingDir: "/srv" }],
    ["a cpu limit", { resources: { cpuMillis: 500 } }],
    ["a memory limit", { resources: { memoryBytes: 64 << 20 } }],
    ["a pids limit", { resources: { pids: 64 } }],
  ];
  for (const [name, extra] of noMatch) {
    it(`no key for ${name}`, () => assert.equal(prewarmMatchKey(create(extra)), undefined));
  }

  const otherKey: Array<[string, Partial<AgentSandboxSpec>]> = [
    ["other args", { args: ["601"] }],
    ["other command", { command: ["sh"] }],
    ["other env", { env: { A: "2" } }],
    ["another image", { image: "docker.io/library/alpine:latest" }],
  ];
  for (const [name, extra] of otherKey) {
    it(`another key for ${name}`, () => assert.notEqual(prewarmMatchKey(create(extra)), template.key));
  }

  it("a matching create builds the prewarmed container's spec, but for hostname and cgroup path", () => {
    const containerId = "pw-12345678-9abcdef0";
    const warm = buildSandboxOciSpec(templateSandboxSpec(template, containerId), imageConfig, context);
    const taker = buildSandboxOciSpec(create(), imageConfig, context);
    const neutral = (spec: OciSpec) => ({
      ...spec,
      hostname: undefined,
      linux: { ...spec.linux, cgroupsPath: undefined },
    });
    assert.deepEqual(neutral(warm), neutral(taker));
    assert.equal(warm.hostname, containerId);
    assert.equal(warm.linux.cgroupsPath, `/fast-sandbox/node-a/${containerId}`);
  });
});

describe("newPrewarmContainerId", () => {
  it("is pw-<first 8 hex of the key>-<8 random hex>, a DNS label, fresh each time", () => {
    const a = newPrewarmContainerId(template.key);
    assert.match(a, new RegExp(`^pw-${template.key.slice(0, 8)}-[0-9a-f]{8}$`));
    assert.notEqual(a, newPrewarmContainerId(template.key));
  });
});

describe("prewarmLabels → warmFromLabels", () => {
  const warm: WarmContainer = {
    containerId: "pw-12345678-9abcdef0",
    network: { mode: "agent" },
    key: template.key,
    image: IMAGE,
    imageDigest: `sha256:${"a".repeat(64)}`,
    logPath: "/var/log/fast-sandbox/pw-12345678-9abcdef0.log",
  };
  const facts = { agentId: "node-a", pool: "fast-pool", createdAt: new Date("2030-01-01T00:00:00Z") };
  const labels = prewarmLabels(warm, facts);

  it("round-trips", () => assert.deepEqual(warmFromLabels(warm.containerId, labels), warm));

  it("is provably ours and marked prewarm, its own sandbox until taken", () => {
    assert.ok(isManagedContainer(labels, warm.containerId));
    assert.equal(labels[Labels.Prewarm], "true");
    assert.equal(labels[Labels.SandboxId], warm.containerId);
    assert.equal(labels[Labels.ContainerId], warm.containerId);
    assert.equal(labels[Labels.Agent], "node-a");
    assert.equal(labels[Labels.Pool], "fast-pool");
  });

  const broken: Array<[string, string, Record<string, string>]> = [
    ["another container's labels", "pw-other", labels],
    ["no prewarm label", warm.containerId, { ...labels, [Labels.Prewarm]: "false" }],
    ["a bad key", warm.containerId, { ...labels, [Labels.PrewarmKey]: "xyz" }],
    ["a relative log path", warm.containerId, { ...labels, [Labels.LogPath]: "pw.log" }],
    ["no image digest", warm.containerId, { ...labels, [Labels.ImageDigest]: "" }],
    [
      "a sandbox id of another (taken, half relabelled)",
      warm.containerId,
      { ...labels, [Labels.SandboxId]: "web-1" },
    ],
  ];
  for (const [name, id, l] of broken) {
    it(`undefined for ${name}`, () => assert.equal(warmFromLabels(id, l), undefined));
  }
});

describe("planPrewarm", () => {
  const observed = (o: Partial<PrewarmObserved>): PrewarmObserved => ({
    pushed: true,
    desired: [],
    ready: new Map(),
    ...o,
  });
  const d = (key: string, count: number, waiting = false) => ({ key, count, waiting });
  const cases: Array<{ name: string; observed: PrewarmObserved; want: PrewarmStep | undefined }> = [
    { name: "nothing desired, nothing ready: idle", observed: observed({}), want: undefined },
    {
      name: "all templates at their count: idle",
      observed: observed({ desired: [d("a", 2)], ready: new Map([["a", 2]]) }),
      want: undefined,
    },
    {
      name: "a template below its count: create one",
      observed: observed({ desired: [d("a", 2)], ready: new Map([["a", 1]]) }),
      want: { action: "create", key: "a" },
    },
    {
      name: "the template missing the most goes first",
      observed: observed({ desired: [d("a", 2), d("b", 3)], ready: new Map([["a", 1]]) }),
      want: { action: "create", key: "b" },
    },
    {
      name: "a template in back-off is skipped",
      observed: observed({ desired: [d("a", 2, true), d("b", 1)] }),
      want: { action: "create", key: "b" },
    },
    {
      name: "only templates in back-off: idle",
      observed: observed({ desired: [d("a", 2, true)] }),
      want: undefined,
    },
    {
      name: "above its count: remove one, before any create",
      observed: observed({ desired: [d("a", 1), d("b", 1)], ready: new Map([["a", 3]]) }),
      want: { action: "remove", key: "a" },
    },
    {
      name: "a key no longer desired: remove",
      observed: observed({
        desired: [d("b", 1)],
        ready: new Map([
          ["a", 1],
          ["b", 1],
        ]),
      }),
      want: { action: "remove", key: "a" },
    },
    {
      name: "the empty set removes everything",
      observed: observed({ ready: new Map([["a", 1]]) }),
      want: { action: "remove", key: "a" },
    },
    {
      name: "before the first push (after a restart) adopted containers stay",
      observed: observed({ pushed: false, ready: new Map([["a", 3]]) }),
      want: undefined,
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(planPrewarm(c.observed), c.want));
});

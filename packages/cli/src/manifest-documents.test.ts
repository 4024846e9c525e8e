// What `fsb-ctl apply -f` reads: SandboxPool and Sandbox documents, strictly, every document before any is applied.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManifestError, parseManifestDocuments } from "./manifest-documents.ts";

const HEAD = "apiVersion: sandbox.fast.io/v1alpha1\nkind: SandboxPool\n";

const SMALL_POOL = `${HEAD}metadata:
  name: small-pool
  namespace: team-a
  labels: {tier: small}
  annotations: {sandbox.fast.io/containerd-namespace: fsb-test}
spec:
  capacity: {poolMin: 1, poolMax: 2}
  maxSandboxesPerPod: 2
`;

const SANDBOX = `apiVersion: sandbox.fast.io/v1alpha1
kind: Sandbox
metadata: {name: web}
spec:
  image: busybox
  command: [sleep, "600"]
  poolRef: small-pool
`;

describe("parseManifestDocuments", () => {
  it("reads a pool and a sandbox, in order, with where each came from", () => {
    assert.deepEqual(parseManifestDocuments(`${SMALL_POOL}---\n${SANDBOX}`, "f.yaml"), [
      {
        kind: "SandboxPool",
        origin: { source: "f.yaml", index: 1 },
        pool: {
          apiVersion: "sandbox.fast.io/v1alpha1",
          kind: "SandboxPool",
          metadata: {
            name: "small-pool",
            namespace: "team-a",
            labels: { tier: "small" },
            annotations: { "sandbox.fast.io/containerd-namespace": "fsb-test" },
          },
          spec: { capacity: { poolMin: 1, poolMax: 2 }, maxSandboxesPerPod: 2 },
        },
      },
      {
        kind: "Sandbox",
        origin: { source: "f.yaml", index: 2 },
        sandbox: { name: "web", image: "busybox", command: ["sleep", "600"], pool: "small-pool" },
      },
    ]);
  });

  it("reads every spec field of a pool", () => {
    const [doc] = parseManifestDocuments(
      `${HEAD}metadata: {name: p}
spec:
  capacity: {poolMin: 0, poolMax: 3, bufferMin: 1, bufferMax: 4}
  maxSandboxesPerPod: 7
  runtimeType: gvisor
  prewarm:
    - image: busybox
      command: [sleep]
      args: ["600"]
      env: [{name: A, value: 1}, {name: B}]
      count: 2
  agentTemplate:
    spec: {nodeSelector: {disk: ssd}}
`,
      "f",
    );
    assert.deepEqual(doc?.kind === "SandboxPool" && doc.pool.spec, {
      capacity: { poolMin: 0, poolMax: 3, bufferMin: 1, bufferMax: 4 },
      maxSandboxesPerPod: 7,
      runtimeType: "gvisor",
      prewarm: [
        {
          image: "busybox",
          command: ["sleep"],
          args: ["600"],
          env: [
            { name: "A", value: "1" },
            { name: "B", value: "" },
          ],
          count: 2,
        },
      ],
      agentTemplate: { spec: { nodeSelector: { disk: "ssd" } } },
    });
  });

  it("takes what `pools get -o yaml` prints: ignores status and the metadata the server sets", () => {
    const [doc] = parseManifestDocuments(
      `${HEAD}metadata:
  name: p
  namespace: default
  uid: 0f6c
  resourceVersion: "12"
  generation: 2
  creationTimestamp: "2026-05-01T12:00:00.000Z"
spec: {capacity: {poolMin: 1, poolMax: 10, bufferMin: 0, bufferMax: 10}}
status: {readyAgents: 1, agents: [{id: a-0}]}
`,
      "f",
    );
    assert.deepEqual(doc?.kind === "SandboxPool" && doc.pool.metadata, { name: "p", namespace: "default" });
  });

  it("skips empty documents but counts them, so indexes match the file", () => {
    // A comment before the first `---` belongs to the document that marker starts.
    const docs = parseManifestDocuments(`# pools\n---\n${SMALL_POOL}---\n---\n${SANDBOX}`, "f");
    assert.deepEqual(
      docs.map((d) => d.origin.index),
      [1, 3],
    );
    assert.deepEqual(parseManifestDocuments("", "f"), []);
    assert.deepEqual(parseManifestDocuments("# nothing\n", "f"), []);
  });

  const bad: Array<{ name: string; text: string; message: RegExp }> = [
    {
      name: "an unknown spec field, with its path and the known ones",
      text: `${HEAD}metadata: {name: p}\nspec: {capacity: {poolMn: 1}}\n`,
      message:
        /^f, document 1: unknown field spec\.capacity\.poolMn \(known: poolMin, poolMax, bufferMin, bufferMax\)$/,
    },
    {
      name: "an unknown top-level spec field",
      text: `${HEAD}metadata: {name: p}\nspec: {replicas: 3}\n`,
      message: /^f, document 1: unknown field spec\.replicas \(known: capacity, maxSandboxesPerPod, /,
    },
    {
      name: "an unknown field of a prewarm template, with its index",
      text: `${HEAD}metadata: {name: p}\nspec: {prewarm: [{image: b, count: 1}, {image: b, count: 1, cmd: [x]}]}\n`,
      message:
        /^f, document 1: unknown field spec\.prewarm\[1\]\.cmd \(known: image, command, args, env, count\)$/,
    },
    {
      name: "an unknown metadata field",
      text: `${HEAD}metadata: {name: p, finalizers: [a]}\n`,
      message: /^f, document 1: unknown field metadata\.finalizers /,
    },
    {
      name: "a quoted number",
      text: `${HEAD}metadata: {name: p}\nspec: {capacity: {poolMax: "2"}}\n`,
      message: /^f, document 1: spec\.capacity\.poolMax must be a whole number$/,
    },
    {
      name: "a fraction",
      text: `${HEAD}metadata: {name: p}\nspec: {maxSandboxesPerPod: 1.5}\n`,
      message: /^f, document 1: spec\.maxSandboxesPerPod must be a whole number$/,
    },
    {
      name: "a negative count",
      text: `${HEAD}metadata: {name: p}\nspec: {capacity: {bufferMin: -1}}\n`,
      message: /^f, document 1: spec\.capacity\.bufferMin must be 0 or more$/,
    },
    {
      name: "another runtime",
      text: `${HEAD}metadata: {name: p}\nspec: {runtimeType: kata}\n`,
      message: /^f, document 1: spec\.runtimeType: "kata" is not container or gvisor$/,
    },
    {
      name: "a prewarm template without a count",
      text: `${HEAD}metadata: {name: p}\nspec: {prewarm: [{image: busybox}]}\n`,
      message: /^f, document 1: spec\.prewarm\[0\]\.count is required$/,
    },
    {
      name: "prewarm that is not a list",
      text: `${HEAD}metadata: {name: p}\nspec: {prewarm: {image: busybox, count: 1}}\n`,
      message: /^f, document 1: spec\.prewarm must be a list$/,
    },
    {
      name: "an env entry without a name",
      text: `${HEAD}metadata: {name: p}\nspec: {prewarm: [{image: b, count: 1, env: [{value: x}]}]}\n`,
      message: /^f, document 1: spec\.prewarm\[0\]\.env\[0\]\.name is required$/,
    },
    {
      name: "an agentTemplate that is not a mapping",
      text: `${HEAD}metadata: {name: p}\nspec: {agentTemplate: [a]}\n`,
      message: /^f, document 1: spec\.agentTemplate must be a mapping$/,
    },
    {
      name: "a spec that is not a mapping",
      text: `${HEAD}metadata: {name: p}\nspec: big\n`,
      message: /^f, document 1: spec must be a mapping$/,
    },
    {
      name: "a pool without a name",
      text: `${HEAD}metadata: {namespace: a}\n`,
      message: /^f, document 1: metadata\.name is required$/,
    },
    {
      name: "a sandbox without a name (apply must be repeatable)",
      text: "apiVersion: sandbox.fast.io/v1alpha1\nkind: Sandbox\nspec: {image: busybox}\n",
      message: /^f, document 1: metadata\.name is required$/,
    },
    {
      name: "a sandbox with an unknown spec field",
      text: "apiVersion: sandbox.fast.io/v1alpha1\nkind: Sandbox\nmetadata: {name: w}\nspec: {image: b, ports: [80]}\n",
      message: /^f, document 1: unknown field spec\.ports /,
    },
    {
      name: "an unknown kind, in the second document",
      text: `${SMALL_POOL}---\napiVersion: sandbox.fast.io/v1alpha1\nkind: Pod\nmetadata: {name: x}\n`,
      message: /^f, document 2: kind: "Pod" is not SandboxPool or Sandbox$/,
    },
    {
      name: "no kind",
      text: "apiVersion: sandbox.fast.io/v1alpha1\nmetadata: {name: x}\n",
      message: /^f, document 1: kind is required \(SandboxPool or Sandbox\)$/,
    },
    {
      name: "another apiVersion",
      text: "apiVersion: apps/v1\nkind: SandboxPool\nmetadata: {name: x}\n",
      message: /^f, document 1: apiVersion: "apps\/v1" is not sandbox\.fast\.io\/v1alpha1$/,
    },
    {
      name: "no apiVersion",
      text: "kind: SandboxPool\nmetadata: {name: x}\n",
      message: /^f, document 1: apiVersion is required$/,
    },
    {
      name: "a list instead of an object",
      text: "- a\n",
      message: /^f, document 1: the document must be a mapping$/,
    },
    {
      name: "broken YAML in the third document",
      text: `${SMALL_POOL}---\n${SANDBOX}---\nspec: [\n`,
      message: /^f, document 3 is not valid YAML: /,
    },
    {
      name: "a duplicate key",
      text: `${HEAD}metadata: {name: a, name: b}\n`,
      message: /^f, document 1 is not valid YAML: Map keys must be unique/,
    },
  ];
  for (const tc of bad) {
    it(`refuses ${tc.name}`, () => {
      assert.throws(
        () => parseManifestDocuments(tc.text, "f"),
        (err: unknown) => err instanceof ManifestError && tc.message.test(err.message),
      );
    });
  }
});

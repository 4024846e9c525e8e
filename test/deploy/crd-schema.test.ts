// The generated CRDs: structural (as the API server requires), and they admit the examples and refuse bad objects for the right reason.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { validatePoolSpec, validateSandboxSpec } from "@fast-sandbox/api";
import { RULES_NOT_CHECKED } from "./cel-rules.ts";
import { admit, type Problem, type SchemaNode, structuralProblems } from "./crd-rules.ts";
import { deployDir, type KubeObject, parseYamlStream } from "./kustomize.ts";

interface Crd extends KubeObject {
  spec: {
    names: { kind: string; shortNames: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: object };
      additionalPrinterColumns: Array<{ name: string; jsonPath: string }>;
      schema: { openAPIV3Schema: SchemaNode };
    }>;
  };
}

async function loadYaml(file: string): Promise<KubeObject[]> {
  return parseYamlStream(await readFile(file, "utf8"));
}

const crdFiles = ["sandbox.fast.io_sandboxes.yaml", "sandbox.fast.io_sandboxpools.yaml"];
const crds = new Map<string, Crd>();
for (const file of crdFiles) {
  const [crd] = (await loadYaml(path.join(deployDir, "base/crds", file))) as Crd[];
  assert.ok(crd, file);
  crds.set(crd.spec.names.kind, crd);
}
const schemaOf = (kind: string): SchemaNode => {
  const crd = crds.get(kind);
  assert.ok(crd, `no CRD for ${kind}`);
  return crd.spec.versions[0]!.schema.openAPIV3Schema;
};

const sandbox = (spec: Record<string, unknown>, name = "s1") => ({
  apiVersion: "sandbox.fast.io/v1alpha1",
  kind: "Sandbox",
  metadata: { name, namespace: "default" },
  spec,
});
const pool = (spec: Record<string, unknown> | undefined, name = "p1") => ({
  apiVersion: "sandbox.fast.io/v1alpha1",
  kind: "SandboxPool",
  metadata: { name, namespace: "default" },
  ...(spec === undefined ? {} : { spec }),
});

describe("the generated CRDs", () => {
  for (const [kind, crd] of crds) {
    it(`${kind}: one served storage version v1alpha1 with a status subresource`, () => {
      assert.deepEqual(
        crd.spec.versions.map((v) => [v.name, v.served, v.storage, v.subresources?.status !== undefined]),
        [["v1alpha1", true, true, true]],
      );
    });

    it(`${kind}: its schema is structural`, () => {
      assert.deepEqual(structuralProblems(schemaOf(kind)), []);
    });
  }

  it("print the columns kubectl get shows, and answer to the short names sb and sbp", () => {
    const columns = (kind: string) =>
      crds.get(kind)!.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name);
    assert.deepEqual(columns("Sandbox"), ["Phase", "Image", "Agent", "Endpoints", "Age"]);
    assert.deepEqual(columns("SandboxPool"), ["Min", "Max", "Ready", "Slots", "Age"]);
    assert.deepEqual(crds.get("Sandbox")!.spec.names.shortNames, ["sb"]);
    assert.deepEqual(crds.get("SandboxPool")!.spec.names.shortNames, ["sbp"]);
  });
});

describe("the structural rules", () => {
  // Each case breaks one rule the API server enforces; the checker must name it, or the checks above prove nothing.
  const spec = () => structuredClone(schemaOf("Sandbox"));
  const specNode = (root: SchemaNode) => (root.properties as Record<string, SchemaNode>).spec as SchemaNode;
  const specProperty = (root: SchemaNode, name: string) =>
    (specNode(root).properties as Record<string, SchemaNode>)[name] as SchemaNode;
  const cases: Array<{ name: string; breakIt: (root: SchemaNode) => void; expected: string }> = [
    {
      name: "a $ref",
      breakIt: (root) => {
        specProperty(root, "resources").$ref = "#/definitions/resources";
      },
      expected: "openAPIV3Schema.properties.spec.properties.resources.$ref: $ref is not supported",
    },
    {
      name: "uniqueItems: true",
      breakIt: (root) => {
        specProperty(root, "exposedPorts").uniqueItems = true;
      },
      expected:
        "openAPIV3Schema.properties.spec.properties.exposedPorts.uniqueItems: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
    },
    {
      name: "a node without a type",
      breakIt: (root) => {
        delete specProperty(root, "image").type;
      },
      expected:
        "openAPIV3Schema.properties.spec.properties.image.type: must not be empty for specified object fields",
    },
    {
      name: "additionalProperties next to properties",
      breakIt: (root) => {
        specProperty(root, "resources").additionalProperties = { type: "string" };
      },
      expected:
        "openAPIV3Schema.properties.spec.properties.resources.additionalProperties: additionalProperties and properties are mutual exclusive",
    },
    {
      name: "a default its own schema refuses",
      breakIt: (root) => {
        specProperty(root, "poolRef").default = "Default_Pool";
      },
      expected:
        'openAPIV3Schema.properties.spec.properties.poolRef.default: is not valid under its schema: / pattern must match pattern "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"',
    },
    {
      name: "a default that pruning would change",
      breakIt: (root) => {
        specProperty(root, "resources").default = { cpu: "1", gpu: "1" };
      },
      expected: "openAPIV3Schema.properties.spec.properties.resources.default: would be pruned: gpu",
    },
    {
      name: "a restriction on metadata beyond the name",
      breakIt: (root) => {
        const metadata = (root.properties as Record<string, SchemaNode>).metadata as SchemaNode;
        (metadata.properties as Record<string, SchemaNode>).labels = { type: "object" };
      },
      expected:
        "openAPIV3Schema.properties.metadata.properties.labels: only name and generateName may be restricted",
    },
    {
      name: "a default in metadata",
      breakIt: (root) => {
        const metadata = (root.properties as Record<string, SchemaNode>).metadata as SchemaNode;
        ((metadata.properties as Record<string, SchemaNode>).name as SchemaNode).default = "x";
      },
      expected:
        "openAPIV3Schema.properties.metadata.properties.name.default: must not be set in top-level metadata",
    },
    {
      name: "a CEL rule the offline evaluator does not know",
      breakIt: (root) => {
        specNode(root)["x-kubernetes-validations"] = [{ rule: "self.a <= self.b", message: "a > b" }];
      },
      expected:
        'openAPIV3Schema.properties.spec.x-kubernetes-validations[0].rule: the offline CEL evaluator does not know the rule "self.a <= self.b"',
    },
    {
      name: "a list-map key that may be missing",
      breakIt: (root) => {
        const env = specProperty(root, "env");
        (env.items as SchemaNode).required = [];
      },
      expected:
        "openAPIV3Schema.properties.spec.properties.env.items.properties.name: a map key must be required or have a default",
    },
    {
      name: "an unknown keyword",
      breakIt: (root) => {
        specProperty(root, "image").minLenght = 1;
      },
      expected: "openAPIV3Schema.properties.spec.properties.image.minLenght: unknown keyword",
    },
  ];
  for (const c of cases) {
    it(`refuse ${c.name}`, () => {
      const root = spec();
      c.breakIt(root);
      assert.deepEqual(structuralProblems(root), [c.expected]);
    });
  }
});

describe("admission of the examples in deploy/examples/", async () => {
  const dir = path.join(deployDir, "examples");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".yaml")).sort();

  it("has the examples the docs promise", () => {
    for (const f of ["seed-sandbox.yaml", "minimal-sandbox.yaml", "gvisor-pool.yaml", "default-pool.yaml"]) {
      assert.ok(files.includes(f), f);
    }
  });

  for (const file of files) {
    it(`${file} is accepted by its CRD and by the controller's validation`, async () => {
      for (const object of await loadYaml(path.join(dir, file))) {
        const { object: stored, problems } = admit(schemaOf(object.kind), object);
        assert.deepEqual(problems, []);
        const spec = stored.spec;
        if (object.kind === "Sandbox") validateSandboxSpec(spec);
        else validatePoolSpec(spec);
      }
    });
  }

  it("the seed's Sandbox is stored with the defaults it leaves out", async () => {
    const [seed] = await loadYaml(path.join(dir, "seed-sandbox.yaml"));
    assert.deepEqual(admit(schemaOf("Sandbox"), seed).object.spec, {
      image: "alpine:latest",
      exposedPorts: [8080],
      poolRef: "default-pool",
      consistencyMode: "fast",
      failurePolicy: "AutoRecreate",
      recoveryTimeoutSeconds: 60,
    });
  });

  it("a pool without a spec is stored as default-pool.yaml spells it out", async () => {
    const [example] = await loadYaml(path.join(dir, "default-pool.yaml"));
    const { object, problems } = admit(schemaOf("SandboxPool"), pool(undefined));
    assert.deepEqual(problems, []);
    assert.deepEqual(object.spec, example?.spec);
    assert.deepEqual(object.spec, validatePoolSpec({}), "the CRD and the controller default alike");
  });

  it("a minimal Sandbox gets poolRef, failurePolicy and recoveryTimeoutSeconds", () => {
    const { object } = admit(schemaOf("Sandbox"), sandbox({ image: "busybox" }));
    assert.deepEqual(object.spec, {
      image: "busybox",
      poolRef: "default-pool",
      failurePolicy: "Manual",
      recoveryTimeoutSeconds: 60,
    });
  });
});

describe("admission of bad objects", () => {
  const cases: Array<{
    name: string;
    object: { kind: string } & Record<string, unknown>;
    expected: Problem[];
  }> = [
    {
      name: "a Sandbox without an image",
      object: sandbox({ exposedPorts: [80] }),
      expected: [{ path: "/spec/image", rule: "required", message: "must have required property 'image'" }],
    },
    {
      name: "a Sandbox without a spec",
      object: { ...sandbox({}), spec: undefined },
      expected: [{ path: "/spec", rule: "required", message: "must have required property 'spec'" }],
    },
    {
      name: "port 0",
      object: sandbox({ image: "busybox", exposedPorts: [0] }),
      expected: [{ path: "/spec/exposedPorts/0", rule: "minimum", message: "must be >= 1" }],
    },
    {
      name: "port 70000",
      object: sandbox({ image: "busybox", exposedPorts: [8080, 70000] }),
      expected: [{ path: "/spec/exposedPorts/1", rule: "maximum", message: "must be <= 65535" }],
    },
    {
      name: "a port listed twice",
      object: sandbox({ image: "busybox", exposedPorts: [8080, 8080] }),
      expected: [{ path: "/spec/exposedPorts/1", rule: "duplicate", message: "duplicate entry 8080" }],
    },
    {
      name: "a port that is not a number",
      object: sandbox({ image: "busybox", exposedPorts: ["8080"] }),
      expected: [{ path: "/spec/exposedPorts/0", rule: "type", message: "must be integer" }],
    },
    {
      name: "an unknown consistency mode",
      object: sandbox({ image: "busybox", consistencyMode: "eventual" }),
      expected: [
        {
          path: "/spec/consistencyMode",
          rule: "enum",
          message: "must be equal to one of the allowed values",
        },
      ],
    },
    {
      name: "an unknown failure policy",
      object: sandbox({ image: "busybox", failurePolicy: "Always" }),
      expected: [
        { path: "/spec/failurePolicy", rule: "enum", message: "must be equal to one of the allowed values" },
      ],
    },
    {
      name: "a recovery timeout of 0",
      object: sandbox({ image: "busybox", recoveryTimeoutSeconds: 0 }),
      expected: [{ path: "/spec/recoveryTimeoutSeconds", rule: "minimum", message: "must be >= 1" }],
    },
    {
      name: "an expiry that is not a time",
      object: sandbox({ image: "busybox", expireTime: "tomorrow" }),
      expected: [{ path: "/spec/expireTime", rule: "format", message: 'must match format "date-time"' }],
    },
    {
      name: "a pool name that is not a DNS label",
      object: sandbox({ image: "busybox", poolRef: "GPU_Pool" }),
      expected: [
        {
          path: "/spec/poolRef",
          rule: "pattern",
          message: 'must match pattern "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"',
        },
      ],
    },
    {
      name: "a sandbox name that is not a DNS label",
      object: sandbox({ image: "busybox" }, "My.Sandbox"),
      expected: [
        {
          path: "/metadata/name",
          rule: "pattern",
          message: 'must match pattern "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"',
        },
      ],
    },
    {
      name: "a memory limit with a unit of its own",
      object: sandbox({ image: "busybox", resources: { memory: "1 gig" } }),
      expected: [
        {
          path: "/spec/resources/memory",
          rule: "pattern",
          message: 'must match pattern "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([kMGTPE]|[KMGTPE]i)?$"',
        },
      ],
    },
    {
      name: "an env entry without a name",
      object: sandbox({ image: "busybox", env: [{ value: "x" }] }),
      expected: [
        { path: "/spec/env/0/name", rule: "required", message: "must have required property 'name'" },
      ],
    },
    {
      name: "an env name set twice",
      object: sandbox({
        image: "busybox",
        env: [
          { name: "A", value: "1" },
          { name: "A", value: "2" },
        ],
      }),
      expected: [{ path: "/spec/env/1", rule: "duplicate", message: 'duplicate entry ["A"]' }],
    },
    {
      name: "a misspelt field (strict field validation rejects it; without it, it is pruned)",
      object: sandbox({ image: "busybox", exposedPort: [80] }),
      expected: [
        { path: "/spec/exposedPort", rule: "unknown-field", message: 'unknown field "spec.exposedPort"' },
      ],
    },
    {
      name: "a status field the controller never writes",
      object: { ...sandbox({ image: "busybox" }), status: { phase: "Running", ip: "10.0.0.1" } },
      expected: [{ path: "/status/ip", rule: "unknown-field", message: 'unknown field "status.ip"' }],
    },
    {
      name: "an unknown phase",
      object: { ...sandbox({ image: "busybox" }), status: { phase: "Sleeping" } },
      expected: [
        { path: "/status/phase", rule: "enum", message: "must be equal to one of the allowed values" },
      ],
    },
    {
      name: "poolMax 0",
      object: pool({ capacity: { poolMax: 0 } }),
      // A bound is no blocking error: the server still runs the rules, and the default poolMin 1 breaks one.
      expected: [
        { path: "/spec/capacity/poolMax", rule: "minimum", message: "must be >= 1" },
        {
          path: "/spec/capacity",
          rule: "x-kubernetes-validations",
          message: "poolMin must not be more than poolMax",
        },
      ],
    },
    {
      name: "a negative poolMin",
      object: pool({ capacity: { poolMin: -1 } }),
      expected: [{ path: "/spec/capacity/poolMin", rule: "minimum", message: "must be >= 0" }],
    },
    {
      name: "poolMin above poolMax (CEL)",
      object: pool({ capacity: { poolMin: 5, poolMax: 2 } }),
      expected: [
        {
          path: "/spec/capacity",
          rule: "x-kubernetes-validations",
          message: "poolMin must not be more than poolMax",
        },
      ],
    },
    {
      name: "poolMin above the default poolMax (CEL sees the defaults)",
      object: pool({ capacity: { poolMin: 11 } }),
      expected: [
        {
          path: "/spec/capacity",
          rule: "x-kubernetes-validations",
          message: "poolMin must not be more than poolMax",
        },
      ],
    },
    {
      name: "bufferMin above bufferMax (CEL)",
      object: pool({ capacity: { bufferMin: 3, bufferMax: 1 } }),
      expected: [
        {
          path: "/spec/capacity",
          rule: "x-kubernetes-validations",
          message: "bufferMin must not be more than bufferMax",
        },
      ],
    },
    {
      name: "more than 1000 agents",
      object: pool({ capacity: { poolMax: 1001 } }),
      expected: [{ path: "/spec/capacity/poolMax", rule: "maximum", message: "must be <= 1000" }],
    },
    {
      name: "a fractional buffer",
      object: pool({ capacity: { bufferMax: 2.5 } }),
      expected: [
        { path: "/spec/capacity/bufferMax", rule: "type", message: "must be integer" },
        { path: "", rule: "x-kubernetes-validations", message: RULES_NOT_CHECKED },
      ],
    },
    {
      name: "zero sandboxes per agent",
      object: pool({ maxSandboxesPerPod: 0 }),
      expected: [{ path: "/spec/maxSandboxesPerPod", rule: "minimum", message: "must be >= 1" }],
    },
    {
      name: "an unknown runtime",
      object: pool({ runtimeType: "kata" }),
      expected: [
        { path: "/spec/runtimeType", rule: "enum", message: "must be equal to one of the allowed values" },
        { path: "", rule: "x-kubernetes-validations", message: RULES_NOT_CHECKED },
      ],
    },
    {
      name: "a negative prewarm count",
      object: pool({ prewarm: [{ image: "busybox", count: -1 }] }),
      expected: [{ path: "/spec/prewarm/0/count", rule: "minimum", message: "must be >= 0" }],
    },
    {
      name: "a prewarm count over 20",
      object: pool({ prewarm: [{ image: "busybox", count: 21 }] }),
      expected: [{ path: "/spec/prewarm/0/count", rule: "maximum", message: "must be <= 20" }],
    },
    {
      name: "a prewarm template without image or count",
      object: pool({ prewarm: [{ command: ["sleep", "1"] }] }),
      expected: [
        { path: "/spec/prewarm/0/image", rule: "required", message: "must have required property 'image'" },
        { path: "/spec/prewarm/0/count", rule: "required", message: "must have required property 'count'" },
        { path: "", rule: "x-kubernetes-validations", message: RULES_NOT_CHECKED },
      ],
    },
    {
      name: "a prewarm template with an empty image",
      object: pool({ prewarm: [{ image: "", count: 1 }] }),
      expected: [
        {
          path: "/spec/prewarm/0/image",
          rule: "minLength",
          message: "must NOT have fewer than 1 characters",
        },
      ],
    },
    {
      name: "17 prewarm templates",
      object: pool({ prewarm: Array.from({ length: 17 }, (_, i) => ({ image: `img${i}`, count: 1 })) }),
      expected: [
        { path: "/spec/prewarm", rule: "maxItems", message: "must NOT have more than 16 items" },
        { path: "", rule: "x-kubernetes-validations", message: RULES_NOT_CHECKED },
      ],
    },
    {
      name: "an agentTemplate that is not an object",
      object: pool({ agentTemplate: ["spec"] }),
      expected: [
        { path: "/spec/agentTemplate", rule: "type", message: "must be object" },
        { path: "", rule: "x-kubernetes-validations", message: RULES_NOT_CHECKED },
      ],
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.name}`, () => {
      assert.deepEqual(admit(schemaOf(c.object.kind), c.object).problems, c.expected);
    });
  }

  it("keeps whatever an agentTemplate holds (a Pod template is not pruned)", () => {
    const template = {
      metadata: { labels: { a: "b" } },
      spec: { containers: [{ name: "agent", futureField: 1 }] },
    };
    const { object, problems } = admit(schemaOf("SandboxPool"), pool({ agentTemplate: template }));
    assert.deepEqual(problems, []);
    assert.deepEqual((object.spec as { agentTemplate: unknown }).agentTemplate, template);
  });
});

// The offline CEL stand-in: it knows exactly the rule forms the CRDs use, refuses any other loudly,
// checks what keeps a rule cheap, and evaluates as the API server would (on defaulted objects).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { parseRule, RULES_NOT_CHECKED, ruleViolations, validationRuleProblems } from "./cel-rules.ts";
import { admit, type SchemaNode, structuralProblems } from "./crd-rules.ts";
import { deployDir, parseYamlStream } from "./kustomize.ts";

const AT_MOST = "!has(self.lo) || !has(self.hi) || self.lo <= self.hi";
const integer = { type: "integer" };
const pair = (extra: SchemaNode = {}): SchemaNode => ({
  type: "object",
  properties: { lo: integer, hi: integer },
  "x-kubernetes-validations": [{ rule: AT_MOST, message: "lo must not be more than hi" }],
  ...extra,
});

/** Every `x-kubernetes-validations` of a schema, by the dotted path of its node. */
function rulesIn(node: SchemaNode, at: string): Array<[string, unknown]> {
  const own: Array<[string, unknown]> =
    node["x-kubernetes-validations"] === undefined ? [] : [[at, node["x-kubernetes-validations"]]];
  const properties = (node.properties ?? {}) as Record<string, SchemaNode>;
  return [
    ...own,
    ...Object.entries(properties).flatMap(([k, v]) => rulesIn(v, `${at}.${k}`)),
    ...(node.items ? rulesIn(node.items as SchemaNode, `${at}[]`) : []),
  ];
}

describe("the offline CEL rules", () => {
  it("parse the one form the CRDs use, and refuse anything else by name", () => {
    assert.deepEqual(parseRule(AT_MOST), { min: "lo", max: "hi" });
    for (const rule of [
      "self.lo <= self.hi",
      "!has(self.lo) || !has(self.hi) || self.lo < self.hi",
      "!has(self.lo) || !has(self.hi) || self.hi <= self.lo ",
      "!has(self.lo) || !has(self.hi) || self.x <= self.hi",
    ]) {
      assert.throws(() => parseRule(rule), /the offline CEL evaluator does not know the rule/, rule);
    }
  });

  it("evaluate a ≤ b only when both are set", () => {
    const violations = (value: unknown) => ruleViolations(value, pair(), "/p");
    assert.deepEqual(violations({ lo: 3, hi: 2 }), [{ path: "/p", message: "lo must not be more than hi" }]);
    assert.deepEqual(violations({ lo: 2, hi: 2 }), []);
    assert.deepEqual(violations({ lo: 9 }), []);
    assert.deepEqual(violations(undefined), [], "no object, no rule");
  });

  const shapes: Array<{
    name: string;
    node: SchemaNode;
    inList?: boolean;
    expected: Array<[string, string]>;
  }> = [
    { name: "a well-formed rule", node: pair(), expected: [] },
    {
      name: "a rule on a field that is not an integer",
      node: pair({ properties: { lo: integer, hi: { type: "string" } } }),
      expected: [["[0].rule", "self.hi must be an integer property of this object"]],
    },
    {
      name: "a rule without a message",
      node: pair({ "x-kubernetes-validations": [{ rule: AT_MOST }] }),
      expected: [["[0].message", "must say what is wrong"]],
    },
    {
      name: "fieldPath, which 1.25-1.27 servers do not know",
      node: pair({ "x-kubernetes-validations": [{ rule: AT_MOST, message: "m", fieldPath: ".lo" }] }),
      expected: [["[0].fieldPath", "not a field these CRDs use"]],
    },
    {
      name: "a rule inside a list",
      node: pair(),
      inList: true,
      expected: [["", "rules inside a list or map multiply their cost; not used here"]],
    },
  ];
  for (const c of shapes) {
    it(`check ${c.name}`, () => {
      assert.deepEqual(validationRuleProblems(c.node, c.inList === true), c.expected);
    });
  }

  it("are refused by the structural check under a list's items", () => {
    const root = { type: "object", properties: { list: { type: "array", items: pair() } } };
    assert.deepEqual(structuralProblems(root), [
      "openAPIV3Schema.properties.list.items.x-kubernetes-validations: rules inside a list or map multiply their cost; not used here",
    ]);
  });

  it("are skipped, as the server says, after a blocking error, but not after a bound", () => {
    const root: SchemaNode = {
      type: "object",
      properties: { spec: pair({ properties: { lo: { ...integer, minimum: 0 }, hi: integer } }) },
    };
    assert.deepEqual(
      admit(root, { spec: { lo: "x", hi: 1 } }).problems.map((p) => p.message),
      ["must be integer", RULES_NOT_CHECKED],
    );
    assert.deepEqual(
      admit(root, { spec: { lo: -1, hi: -2 } }).problems.map((p) => p.message),
      ["must be >= 0", "lo must not be more than hi"],
    );
  });

  it("sit only on the SandboxPool's spec.capacity, as the two min ≤ max rules", async () => {
    const found: Array<[string, string, unknown]> = [];
    for (const file of ["sandbox.fast.io_sandboxes.yaml", "sandbox.fast.io_sandboxpools.yaml"]) {
      for (const crd of parseYamlStream(await readFile(path.join(deployDir, "base/crds", file), "utf8"))) {
        const spec = crd.spec as {
          names: { kind: string };
          versions: Array<{ schema: { openAPIV3Schema: SchemaNode } }>;
        };
        for (const [at, rules] of rulesIn(spec.versions[0]!.schema.openAPIV3Schema, "")) {
          found.push([spec.names.kind, at, rules]);
        }
      }
    }
    assert.deepEqual(found, [
      [
        "SandboxPool",
        ".spec.capacity",
        [
          {
            rule: "!has(self.poolMin) || !has(self.poolMax) || self.poolMin <= self.poolMax",
            message: "poolMin must not be more than poolMax",
          },
          {
            rule: "!has(self.bufferMin) || !has(self.bufferMax) || self.bufferMin <= self.bufferMax",
            message: "bufferMin must not be more than bufferMax",
          },
        ],
      ],
    ]);
  });
});

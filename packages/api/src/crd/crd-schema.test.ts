// The CRD schemas agree with the TypeScript interfaces (at compile time) and with the zod validation (here).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  PoolDefaults,
  PoolLimits,
  poolCapacitySchema,
  poolSpecSchema,
  prewarmTemplateSchema,
  SECCOMP_LOCALHOST_PROFILE_PATTERN,
  seccompProfileSchema,
} from "../pool-validation.ts";
import { DEFAULT_POOL, DEFAULT_RECOVERY_TIMEOUT_SECONDS } from "../sandbox-resource.ts";
import { sandboxSpecSchema as sandboxSpecZod } from "../sandbox-validation.ts";
import { arraySchema, type JsonSchemaProps, objectSchema } from "./json-schema-props.ts";
import { sandboxCrd, sandboxSpecSchema } from "./sandbox-crd.ts";
import { sandboxPoolCrd, sandboxPoolSpecSchema } from "./sandbox-pool-crd.ts";

const keys = (schema: JsonSchemaProps | undefined) => Object.keys(schema?.properties ?? {}).sort();
const child = (schema: JsonSchemaProps, ...path: string[]): JsonSchemaProps => {
  let node = schema;
  for (const name of path) {
    const next = name === "[]" ? node.items : node.properties?.[name];
    assert.ok(next, `no ${name} in ${path.join(".")}`);
    node = next;
  }
  return node;
};

describe("CRD schemas against the zod validation", () => {
  it("name the same Sandbox spec fields", () => {
    assert.deepEqual(keys(sandboxSpecSchema), Object.keys(sandboxSpecZod.shape).sort());
  });

  it("name the same SandboxPool spec, capacity and prewarm fields", () => {
    assert.deepEqual(keys(sandboxPoolSpecSchema), Object.keys(poolSpecSchema.shape).sort());
    assert.deepEqual(
      keys(child(sandboxPoolSpecSchema, "capacity")),
      Object.keys(poolCapacitySchema.shape).sort(),
    );
    assert.deepEqual(
      keys(child(sandboxPoolSpecSchema, "prewarm", "[]")),
      Object.keys(prewarmTemplateSchema.shape).sort(),
    );
    assert.deepEqual(keys(child(sandboxPoolSpecSchema, "seccompProfile")), ["localhostProfile", "type"]);
  });

  it("check seccompProfile as the zod validation does", () => {
    const profile = child(sandboxPoolSpecSchema, "seccompProfile");
    assert.deepEqual(child(profile, "type").enum, seccompProfileSchema.shape.type.options);
    assert.equal(child(profile, "localhostProfile").pattern, SECCOMP_LOCALHOST_PROFILE_PATTERN);
    assert.equal(child(profile, "localhostProfile").maxLength, PoolLimits.maxLocalhostProfileLength);
  });

  it("default what the controller defaults", () => {
    const capacity = child(sandboxPoolSpecSchema, "capacity");
    assert.deepEqual(
      {
        poolMin: child(capacity, "poolMin").default,
        poolMax: child(capacity, "poolMax").default,
        bufferMin: child(capacity, "bufferMin").default,
        bufferMax: child(capacity, "bufferMax").default,
        maxSandboxesPerPod: child(sandboxPoolSpecSchema, "maxSandboxesPerPod").default,
        runtimeType: child(sandboxPoolSpecSchema, "runtimeType").default,
      },
      PoolDefaults,
    );
    assert.equal(child(sandboxSpecSchema, "poolRef").default, DEFAULT_POOL);
    assert.equal(child(sandboxSpecSchema, "failurePolicy").default, "Manual");
    assert.equal(
      child(sandboxSpecSchema, "recoveryTimeoutSeconds").default,
      DEFAULT_RECOVERY_TIMEOUT_SECONDS,
    );
  });

  it("name the CRDs after their group and plural, with the short names sb and sbp", () => {
    assert.equal(sandboxCrd.metadata.name, "sandboxes.sandbox.fast.io");
    assert.deepEqual(sandboxCrd.spec.names.shortNames, ["sb"]);
    assert.equal(sandboxPoolCrd.metadata.name, "sandboxpools.sandbox.fast.io");
    assert.deepEqual(sandboxPoolCrd.spec.names.shortNames, ["sbp"]);
  });
});

describe("objectSchema", () => {
  interface Item {
    a: string;
    b?: number;
  }

  it("lists the properties and the required ones", () => {
    const schema = objectSchema<Item>({ a: { type: "string" }, b: { type: "integer" } }, { required: ["a"] });
    assert.deepEqual(schema, {
      type: "object",
      required: ["a"],
      properties: { a: { type: "string" }, b: { type: "integer" } },
    });
  });

  it("is checked by tsc against the interface it describes", () => {
    const item = objectSchema<Item>({ a: {}, b: {} });
    // Each line below would compile if the check were missing; @ts-expect-error then fails tsc.
    // @ts-expect-error: b is missing
    objectSchema<Item>({ a: {} });
    // @ts-expect-error: c is not a property of Item
    objectSchema<Item>({ a: {}, b: {}, c: {} });
    // @ts-expect-error: a nested object must be an objectSchema of its own type, not a plain schema
    objectSchema<{ item: Item }>({ item: { type: "object" } });
    // @ts-expect-error: a nested schema that misses an optional key does not fit
    objectSchema<{ item: Item }>({ item: objectSchema<{ a: string }>({ a: {} }) });
    // @ts-expect-error: the items of a list of objects are checked too
    objectSchema<{ list: Item[] }>({ list: arraySchema(objectSchema<{ a: string }>({ a: {} })) });
    assert.equal(item.type, "object");
  });
});

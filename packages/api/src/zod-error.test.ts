import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { ErrorCode, FsbError } from "./errors.ts";
import { formatFieldPath, fromZodError, parseOrThrow } from "./zod-error.ts";

describe("formatFieldPath", () => {
  const cases: [string, string | undefined, PropertyKey[], string][] = [
    ["prefix only", "sandbox", [], "sandbox"],
    ["nothing", undefined, [], ""],
    ["nested keys", "sandbox", ["resources", "cpu"], "sandbox.resources.cpu"],
    ["array index", "sandbox", ["exposedPorts", 1], "sandbox.exposedPorts[1]"],
    ["index then key", "sandbox", ["env", 2, "name"], "sandbox.env[2].name"],
    ["env map key", "sandbox", ["env", "FOO"], "sandbox.env.FOO"],
    ["numeric-looking map key stays a key", "sandbox", ["env", "123"], "sandbox.env.123"],
    ["no prefix", undefined, ["a", 0, "b"], "a[0].b"],
    ["key with a dot", "x", ["labels", "a.b"], 'x.labels["a.b"]'],
    ["empty key", "x", ["env", ""], 'x.env[""]'],
    ["key with a space", "x", ["env", "A B"], 'x.env["A B"]'],
    ["key with NUL", "x", ["env", "A\0"], 'x.env["A\\u0000"]'],
    ["symbol key", "x", [Symbol("s")], "x[Symbol(s)]"],
  ];
  for (const [name, prefix, path, expected] of cases) {
    it(name, () => {
      assert.equal(formatFieldPath(prefix, path), expected);
    });
  }
});

const sandboxSchema = z.strictObject({
  name: z.string().min(1).max(5),
  count: z.number().int().min(1).max(10).optional(),
  tags: z.array(z.string()).max(2).optional(),
  env: z.record(z.string().regex(/^[A-Z]+$/), z.string()).optional(),
  mode: z.enum(["fast", "safe"]).optional(),
  nested: z.strictObject({ deep: z.array(z.strictObject({ c: z.boolean() })) }).optional(),
  step: z.number().multipleOf(5).optional(),
  choice: z.union([z.string(), z.strictObject({ size: z.number() })]).optional(),
  custom: z
    .string()
    .refine((value) => value !== "no", { error: "must not be no" })
    .optional(),
  plain: z
    .string()
    .refine((value) => value !== "no")
    .optional(),
});

describe("parseOrThrow", () => {
  it("returns the parsed value", () => {
    assert.deepEqual(parseOrThrow(sandboxSchema, { name: "a", count: 2 }, "sandbox"), {
      name: "a",
      count: 2,
    });
  });

  const cases: [string, unknown, string | undefined, string][] = [
    ["unknown key", { name: "a", extra: 1 }, "sandbox.extra", 'unknown field "extra" is not allowed'],
    [
      "several unknown keys",
      { name: "a", x: 1, y: 2 },
      "sandbox.x",
      'unknown fields "x", "y" are not allowed',
    ],
    [
      "unknown nested key",
      { name: "a", nested: { deep: [{ c: true, d: 1 }] } },
      "sandbox.nested.deep[0].d",
      'unknown field "d" is not allowed',
    ],
    ["missing field", {}, "sandbox.name", "is required (expected string)"],
    ["wrong type", { name: 5 }, "sandbox.name", "expected string, received number"],
    [
      "wrong type in array",
      { name: "a", tags: ["x", 1] },
      "sandbox.tags[1]",
      "expected string, received number",
    ],
    ["null object", null, "sandbox", "expected object, received null"],
    [
      "nested wrong type",
      { name: "a", nested: { deep: [{ c: true }, { c: "yes" }] } },
      "sandbox.nested.deep[1].c",
      "expected boolean, received string",
    ],
    ["empty string", { name: "" }, "sandbox.name", "must not be empty"],
    ["long string", { name: "abcdef" }, "sandbox.name", "must be at most 5 characters long"],
    ["number too big", { name: "a", count: 11 }, "sandbox.count", "must be at most 10"],
    ["number too small", { name: "a", count: 0 }, "sandbox.count", "must be at least 1"],
    ["not an integer", { name: "a", count: 1.5 }, "sandbox.count", "expected integer, received number"],
    ["array too long", { name: "a", tags: ["a", "b", "c"] }, "sandbox.tags", "must have at most 2 entries"],
    ["enum", { name: "a", mode: "slow" }, "sandbox.mode", 'must be one of "fast", "safe"'],
    ["multiple of", { name: "a", step: 7 }, "sandbox.step", "must be a multiple of 5"],
    ["record key", { name: "a", env: { ok: "v" } }, "sandbox.env.ok", "must match /^[A-Z]+$/"],
    ["record value", { name: "a", env: { OK: 1 } }, "sandbox.env.OK", "expected string, received number"],
    [
      "union takes the branch that got furthest",
      { name: "a", choice: { size: "big" } },
      "sandbox.choice.size",
      "expected number, received string",
    ],
    [
      "union with no close branch",
      { name: "a", choice: 5 },
      "sandbox.choice",
      "does not match any of the allowed forms",
    ],
    ["custom refinement message is kept", { name: "a", custom: "no" }, "sandbox.custom", "must not be no"],
    ["refinement without a message", { name: "a", plain: "no" }, "sandbox.plain", "is invalid"],
  ];
  for (const [name, input, field, message] of cases) {
    it(`reports ${name}`, () => {
      assert.throws(
        () => parseOrThrow(sandboxSchema, input, "sandbox"),
        (err: unknown) => {
          assert.ok(err instanceof FsbError);
          assert.equal(err.code, ErrorCode.InvalidArgument);
          assert.equal(err.field, field);
          assert.equal(err.message, `${field}: ${message}`);
          return true;
        },
      );
    });
  }

  it("leaves the field unset when there is neither a prefix nor a path", () => {
    assert.throws(
      () => parseOrThrow(z.string(), 1),
      (err: unknown) => {
        assert.ok(err instanceof FsbError);
        assert.equal(err.field, undefined);
        assert.equal(err.message, "expected string, received number");
        return true;
      },
    );
  });

  it("uses the path alone without a prefix", () => {
    assert.throws(() => parseOrThrow(z.object({ a: z.array(z.number()) }), { a: [1, "x"] }), {
      field: "a[1]",
    });
  });
});

describe("fromZodError", () => {
  it("uses only the first issue and keeps the zod error as the cause", () => {
    const result = z.object({ a: z.string(), b: z.string() }).safeParse({});
    assert.equal(result.success, false);
    const err = fromZodError(result.error!, "req");
    assert.equal(err.field, "req.a");
    assert.equal(err.code, ErrorCode.InvalidArgument);
    assert.equal(err.cause, result.error);
  });

  it("handles an error without issues", () => {
    const err = fromZodError(new z.ZodError([]), "req");
    assert.equal(err.code, ErrorCode.InvalidArgument);
    assert.equal(err.field, "req");
  });
});

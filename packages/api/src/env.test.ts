import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { envListSchema, envListToMap, envMapSchema } from "./env.ts";
import { ErrorCode } from "./errors.ts";
import { parseOrThrow } from "./zod-error.ts";

const manyEntries = (count: number): Record<string, string> =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`VAR_${i}`, "x"]));

describe("envMapSchema", () => {
  const valid: [string, Record<string, string>][] = [
    ["empty", {}],
    ["typical", { PATH: "/usr/bin", _private: "1", lower_case: "" }],
    ["256-character name", { ["A".repeat(256)]: "v" }],
    ["32 KiB value", { BIG: "x".repeat(32 * 1024) }],
    ["multi-byte value at the limit", { UTF8: "é".repeat(16 * 1024) }],
    ["newlines and '=' in values", { SCRIPT: "a=b\nc=d" }],
    ["256 entries", manyEntries(256)],
  ];
  for (const [name, env] of valid) {
    it(`accepts ${name}`, () => {
      assert.deepEqual(parseOrThrow(envMapSchema, env, "sandbox.env"), env);
    });
  }

  const invalid: [string, unknown, string, RegExp][] = [
    [
      "name with a hyphen",
      { "MY-VAR": "v" },
      "sandbox.env.MY-VAR",
      /"MY-VAR" is not a valid environment variable name/,
    ],
    ["name starting with a digit", { "1ABC": "v" }, "sandbox.env.1ABC", /not starting with a digit/],
    ["name with '='", { "A=B": "v" }, "sandbox.env.A=B", /not a valid environment variable name/],
    ["empty name", { "": "v" }, 'sandbox.env[""]', /name must not be empty/],
    ["name with a dot", { "a.b": "v" }, 'sandbox.env["a.b"]', /not a valid environment variable name/],
    [
      "257-character name",
      { ["A".repeat(257)]: "v" },
      `sandbox.env.${"A".repeat(257)}`,
      /at most 256 characters/,
    ],
    ["value with NUL", { FOO: "a\0b" }, "sandbox.env.FOO", /must not contain a NUL character/],
    [
      "value over 32 KiB",
      { FOO: "x".repeat(32 * 1024 + 1) },
      "sandbox.env.FOO",
      /at most 32 KiB \(32768 bytes\)/,
    ],
    [
      "multi-byte value over 32 KiB",
      { FOO: "é".repeat(16 * 1024 + 1) },
      "sandbox.env.FOO",
      /got 32770 bytes/,
    ],
    ["non-string value", { FOO: 1 }, "sandbox.env.FOO", /expected string, received number/],
    ["list instead of map", [{ name: "A", value: "b" }], "sandbox.env", /expected object, received array/],
    [
      "257 entries",
      manyEntries(257),
      "sandbox.env",
      /must set at most 256 environment variables \(got 257\)/,
    ],
  ];
  for (const [name, env, field, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseOrThrow(envMapSchema, env, "sandbox.env"), {
        name: "FsbError",
        code: ErrorCode.InvalidArgument,
        field,
        message,
      });
    });
  }
});

describe("envListSchema", () => {
  it("accepts a list and defaults a missing value to empty, as Kubernetes does", () => {
    assert.deepEqual(parseOrThrow(envListSchema, [{ name: "A", value: "1" }, { name: "B" }], "sandbox.env"), [
      { name: "A", value: "1" },
      { name: "B", value: "" },
    ]);
  });

  const invalid: [string, unknown, string, RegExp][] = [
    [
      "bad name",
      [
        { name: "A", value: "" },
        { name: "B-C", value: "" },
      ],
      "sandbox.env[1].name",
      /not a valid/,
    ],
    ["NUL value", [{ name: "A", value: "\0" }], "sandbox.env[0].value", /NUL/],
    ["missing name", [{ value: "x" }], "sandbox.env[0].name", /is required \(expected string\)/],
    [
      "unknown field",
      [{ name: "A", valueFrom: {} }],
      "sandbox.env[0].valueFrom",
      /unknown field "valueFrom"/,
    ],
    [
      "duplicate name",
      [
        { name: "A", value: "1" },
        { name: "B", value: "2" },
        { name: "A", value: "3" },
      ],
      "sandbox.env[2].name",
      /"A" is set twice \(first at index 0\)/,
    ],
    [
      "257 entries",
      Array.from({ length: 257 }, (_, i) => ({ name: `V${i}`, value: "" })),
      "sandbox.env",
      /at most 256 environment variables \(got 257\)/,
    ],
  ];
  for (const [name, env, field, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseOrThrow(envListSchema, env, "sandbox.env"), {
        code: ErrorCode.InvalidArgument,
        field,
        message,
      });
    });
  }
});

describe("envListToMap", () => {
  const valid: [string, { name: string; value: string }[], Record<string, string>][] = [
    ["empty", [], {}],
    [
      "keeps order and values",
      [
        { name: "A", value: "1" },
        { name: "B", value: "" },
      ],
      { A: "1", B: "" },
    ],
  ];
  for (const [name, list, expected] of valid) {
    it(`converts ${name}`, () => {
      assert.deepEqual(envListToMap(list), expected);
    });
  }

  it("rejects a duplicate at its second occurrence", () => {
    const list = [
      { name: "X", value: "1" },
      { name: "X", value: "2" },
    ];
    assert.throws(() => envListToMap(list, "sandbox.env"), {
      code: ErrorCode.InvalidArgument,
      field: "sandbox.env[1].name",
      message: /"X" is set twice \(first at index 0\)/,
    });
    assert.throws(() => envListToMap(list), { field: "env[1].name" });
  });

  it("keeps a variable named __proto__ as data, not as the prototype", () => {
    const map = envListToMap([{ name: "__proto__", value: "x" }]);
    assert.equal(Object.getPrototypeOf(map), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(map, "__proto__")?.value, "x");
  });
});

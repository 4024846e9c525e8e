import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "./errors.ts";
import {
  dnsLabelSchema,
  dnsSubdomainSchema,
  isDnsLabel,
  isDnsSubdomain,
  sandboxIdSchema,
  validateDnsLabel,
  validateDnsSubdomain,
  validateSandboxId,
} from "./names.ts";
import { parseOrThrow } from "./zod-error.ts";

describe("DNS-1123 label", () => {
  const valid: [string, string][] = [
    ["single letter", "a"],
    ["single digit", "0"],
    ["letters and digits", "abc123"],
    ["inner hyphens", "my-sandbox--1"],
    ["starts with a digit", "1abc"],
    ["63 characters", "a".repeat(63)],
  ];
  for (const [name, value] of valid) {
    it(`accepts ${name}`, () => {
      assert.equal(isDnsLabel(value), true);
      assert.equal(validateDnsLabel(value, "sandbox.id"), value);
      assert.equal(dnsLabelSchema.parse(value), value);
    });
  }

  const invalid: [string, unknown, RegExp][] = [
    ["empty", "", /must not be empty/],
    ["64 characters", "a".repeat(64), /at most 63 characters long \(got 64\)/],
    ["uppercase", "Abc", /not a valid DNS-1123 label/],
    ["leading hyphen", "-abc", /starting and ending with a letter or digit/],
    ["trailing hyphen", "abc-", /not a valid DNS-1123 label/],
    ["dot", "a.b", /not a valid DNS-1123 label/],
    ["underscore", "a_b", /not a valid DNS-1123 label/],
    ["slash", "a/b", /not a valid DNS-1123 label/],
    ["parent directory", "..", /not a valid DNS-1123 label/],
    ["NUL", "a\0b", /not a valid DNS-1123 label/],
    ["trailing newline", "abc\n", /not a valid DNS-1123 label/],
    ["non-ASCII", "café", /not a valid DNS-1123 label/],
    ["a number", 42, /must be a string/],
    ["undefined", undefined, /must be a string/],
  ];
  for (const [name, value, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.equal(isDnsLabel(value), false);
      assert.throws(() => validateDnsLabel(value, "sandbox.name"), {
        name: "FsbError",
        code: ErrorCode.InvalidArgument,
        field: "sandbox.name",
        message,
      });
      assert.equal(dnsLabelSchema.safeParse(value).success, false);
    });
  }

  it("reports the schema failure at the field path with the same message", () => {
    assert.throws(() => parseOrThrow(dnsLabelSchema, "Bad_Name", "sandbox.name"), {
      code: ErrorCode.InvalidArgument,
      field: "sandbox.name",
      message: /^sandbox\.name: "Bad_Name" is not a valid DNS-1123 label: use only lowercase/,
    });
  });
});

describe("DNS-1123 subdomain", () => {
  const valid: [string, string][] = [
    ["single label", "default"],
    ["dotted", "sandbox.fast.io"],
    ["digits and hyphens", "a-1.b-2.c3"],
    ["253 characters", `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`],
  ];
  for (const [name, value] of valid) {
    it(`accepts ${name}`, () => {
      assert.equal(value.length <= 253, true);
      assert.equal(isDnsSubdomain(value), true);
      assert.equal(validateDnsSubdomain(value, "namespace"), value);
      assert.equal(dnsSubdomainSchema.parse(value), value);
    });
  }

  const invalid: [string, unknown, RegExp][] = [
    ["empty", "", /must not be empty/],
    [
      "254 characters",
      `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(62)}`,
      /at most 253/,
    ],
    ["64-character part", `${"a".repeat(64)}.io`, /each dot-separated part must be at most 63/],
    ["empty part", "a..b", /not a valid DNS-1123 subdomain/],
    ["leading dot", ".a", /not a valid DNS-1123 subdomain/],
    ["trailing dot", "a.", /not a valid DNS-1123 subdomain/],
    ["part ending in a hyphen", "a-.b", /not a valid DNS-1123 subdomain/],
    ["uppercase", "Sandbox.io", /not a valid DNS-1123 subdomain/],
    ["slash", "a/b", /not a valid DNS-1123 subdomain/],
    ["a boolean", true, /must be a string/],
  ];
  for (const [name, value, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.equal(isDnsSubdomain(value), false);
      assert.throws(() => validateDnsSubdomain(value, "metadata.namespace"), {
        code: ErrorCode.InvalidArgument,
        field: "metadata.namespace",
        message,
      });
      assert.equal(dnsSubdomainSchema.safeParse(value).success, false);
    });
  }
});

describe("sandbox id", () => {
  it("accepts a DNS-1123 label", () => {
    assert.equal(validateSandboxId("sbx-0123abcd"), "sbx-0123abcd");
    assert.equal(sandboxIdSchema.parse("sbx-1"), "sbx-1");
  });

  const unsafe: [string, string][] = [
    ["a path", "a/b"],
    ["a parent reference", ".."],
    ["a traversal", "../etc"],
    ["a NUL", "abc\0"],
  ];
  for (const [name, value] of unsafe) {
    it(`rejects ${name} under the default field name`, () => {
      assert.throws(() => validateSandboxId(value), { code: ErrorCode.InvalidArgument, field: "sandboxId" });
    });
  }

  it("uses the given field name", () => {
    assert.throws(() => validateSandboxId("A", "request.id"), { field: "request.id" });
  });
});

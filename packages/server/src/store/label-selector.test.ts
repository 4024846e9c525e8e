// Label selector parsing and matching, table-driven over the Kubernetes selector grammar.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { isLabelKey, isLabelValue, labelMatcher, parseLabelSelector } from "./label-selector.ts";

describe("parseLabelSelector", () => {
  const cases: Array<{ input: string; want: string }> = [
    { input: "", want: "" },
    { input: "   ", want: "" },
    { input: "a=b", want: "a = b" },
    { input: "a==b", want: "a = b" },
    { input: "a!=b", want: "a != b" },
    { input: "a=", want: "a = " },
    { input: "a", want: "a exists " },
    { input: "!a", want: "a !exists " },
    { input: " ! a ", want: "a !exists " },
    { input: "a in (x,y)", want: "a in x|y" },
    { input: "a in ( x , y , x )", want: "a in x|y" },
    { input: "a notin (z)", want: "a notin z" },
    { input: "sandbox.fast.io/pool=default-pool", want: "sandbox.fast.io/pool = default-pool" },
    {
      input: "a=b,c!=d,e,!f,g in (x,y),h notin (z)",
      want: "a = b; c != d; e exists ; f !exists ; g in x|y; h notin z",
    },
    { input: "in=notin", want: "in = notin" },
  ];
  for (const { input, want } of cases) {
    it(`parses ${JSON.stringify(input)}`, () => {
      const got = parseLabelSelector(input)
        .requirements.map((r) => `${r.key} ${r.operator} ${r.values.join("|")}`)
        .join("; ");
      assert.equal(got, want);
    });
  }

  const bad = [
    "a=b=c",
    "a b",
    ",",
    "a,",
    "a in x",
    "a in (x",
    "a in (x y)",
    "a notin",
    "!",
    "!a=b",
    "a>1",
    "a=b;c",
    "-a=b",
    "a=-b",
    "UPPER.example/a=b",
    `a=${"x".repeat(64)}`,
    `${"k".repeat(64)}=v`,
  ];
  for (const input of bad) {
    it(`rejects ${JSON.stringify(input)} as INVALID_ARGUMENT`, () => {
      assert.throws(
        () => parseLabelSelector(input),
        (err) => isFsbError(err, ErrorCode.InvalidArgument) && err.field === "labelSelector",
      );
    });
  }
});

describe("labelMatcher", () => {
  const labels = { app: "web", tier: "front", empty: "" };
  const cases: Array<{ selector: string | undefined; want: boolean }> = [
    { selector: undefined, want: true },
    { selector: "", want: true },
    { selector: "app=web", want: true },
    { selector: "app=db", want: false },
    { selector: "app!=db", want: true },
    { selector: "app!=web", want: false },
    { selector: "missing!=x", want: true },
    { selector: "app", want: true },
    { selector: "missing", want: false },
    { selector: "!missing", want: true },
    { selector: "!app", want: false },
    { selector: "empty=", want: true },
    { selector: "empty", want: true },
    { selector: "app in (db,web)", want: true },
    { selector: "app in (db)", want: false },
    { selector: "missing in (x)", want: false },
    { selector: "app notin (db)", want: true },
    { selector: "app notin (web)", want: false },
    { selector: "missing notin (x)", want: true },
    { selector: "app=web,tier=front", want: true },
    { selector: "app=web,tier=back", want: false },
  ];
  for (const { selector, want } of cases) {
    it(`${JSON.stringify(selector)} → ${want}`, () => {
      assert.equal(labelMatcher(selector)(labels), want);
    });
  }

  it("does not match inherited properties as labels", () => {
    assert.equal(labelMatcher("toString")({}), false);
  });
});

describe("label syntax", () => {
  const keys: Array<[string, boolean]> = [
    ["app", true],
    ["a.b_c-d", true],
    ["sandbox.fast.io/pool", true],
    ["/app", false],
    ["example.com/", false],
    ["Example.com/app", false],
    ["a/b/c", false],
    ["", false],
  ];
  for (const [key, want] of keys) {
    it(`key ${JSON.stringify(key)} → ${want}`, () => assert.equal(isLabelKey(key), want));
  }
  const values: Array<[string, boolean]> = [
    ["", true],
    ["v1.2_3-x", true],
    ["-x", false],
    ["x/y", false],
  ];
  for (const [value, want] of values) {
    it(`value ${JSON.stringify(value)} → ${want}`, () => assert.equal(isLabelValue(value), want));
  }
});

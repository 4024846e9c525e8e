// K=V flag values, repeated flags, and label changes where `k-` removes a label.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { collectKeyValues, collectLabelChanges, parseKeyValue } from "./key-value.ts";

describe("parseKeyValue", () => {
  it("splits at the first =, keeping = and emptiness in the value", () => {
    assert.deepEqual(parseKeyValue("A=b=c", "NAME"), ["A", "b=c"]);
    assert.deepEqual(parseKeyValue("A=", "NAME"), ["A", ""]);
  });
  it("refuses a pair without a key", () => {
    assert.throws(() => parseKeyValue("=v", "NAME"), /"=v" is not NAME=VALUE/);
    assert.throws(() => parseKeyValue("v", "NAME"), /"v" is not NAME=VALUE/);
  });
});

describe("collectKeyValues", () => {
  it("accumulates repeated flags, the last one winning", () => {
    const collect = collectKeyValues("NAME");
    assert.deepEqual(collect("B=2", collect("A=1", undefined)), { A: "1", B: "2" });
    assert.deepEqual(collect("A=3", { A: "1" }), { A: "3" });
  });
});

describe("collectLabelChanges", () => {
  it("sets with k=v and removes with k- (an empty value on the wire)", () => {
    assert.deepEqual(collectLabelChanges("old-", collectLabelChanges("team=a", undefined)), {
      team: "a",
      old: "",
    });
  });
  it("refuses k= so removing stays explicit", () => {
    assert.throws(() => collectLabelChanges("team=", undefined), /use team- to remove the label/);
  });
});

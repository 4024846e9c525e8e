import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { chainId } from "./chain-id.ts";

const a = `sha256:${"a".repeat(64)}`;
const b = `sha256:${"b".repeat(64)}`;
const c = `sha256:${"c".repeat(64)}`;
const sha = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;

describe("chainId", () => {
  const cases: Array<{ name: string; diffIds: string[]; want: string }> = [
    { name: "one layer is its own diff id", diffIds: [a], want: a },
    { name: "two layers hash parent and child", diffIds: [a, b], want: sha(`${a} ${b}`) },
    { name: "three layers chain left to right", diffIds: [a, b, c], want: sha(`${sha(`${a} ${b}`)} ${c}`) },
  ];
  for (const tc of cases) {
    it(tc.name, () => assert.equal(chainId(tc.diffIds), tc.want));
  }

  it("depends on layer order", () => assert.notEqual(chainId([a, b]), chainId([b, a])));

  it("rejects an image without layers", () => assert.throws(() => chainId([]), /at least one layer/));
});

// The names and addresses an agent's isolated network follows from its subnet (pure).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCidr } from "@fast-sandbox/api";
import { subnetLayout } from "./subnet-layout.ts";

describe("subnetLayout", () => {
  const cases = [
    { subnet: "10.212.0.0/24", bridge: "fsbr0ad40000", mac: "02:fb:0a:d4:00:00", table: "fsb_0ad40000" },
    { subnet: "10.215.16.0/20", bridge: "fsbr0ad71000", mac: "02:fb:0a:d7:10:00", table: "fsb_0ad71000" },
    { subnet: "172.31.255.240/28", bridge: "fsbrac1ffff0", mac: "02:fb:ac:1f:ff:f0", table: "fsb_ac1ffff0" },
  ];
  for (const tc of cases) {
    it(`names ${tc.subnet}'s bridge, its fixed MAC and its table after the subnet`, () => {
      const layout = subnetLayout(parseCidr(tc.subnet, "subnet"));
      assert.equal(layout.bridge, tc.bridge);
      assert.equal(layout.bridgeMac, tc.mac);
      assert.equal(layout.table, tc.table);
    });
  }

  it("gives the bridge a locally administered unicast MAC, so it is no vendor's", () => {
    const first = Number.parseInt(subnetLayout(parseCidr("10.0.0.0/16", "s")).bridgeMac.slice(0, 2), 16);
    assert.equal(first & 0b10, 0b10, "locally administered");
    assert.equal(first & 0b1, 0, "unicast");
  });
});

// Flag values every entry point shares: Go-style durations and [host]:port bind addresses.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bindAddress } from "./bind-address.ts";
import { parseDuration } from "./duration.ts";

describe("parseDuration and bindAddress", () => {
  const durations: Array<[string, number]> = [
    ["500ms", 500],
    ["10s", 10_000],
    ["2m", 120_000],
    ["1h30m", 5_400_000],
    ["1.5s", 1500],
  ];
  for (const [raw, ms] of durations)
    it(`${raw} is ${ms} ms`, () => assert.equal(parseDuration(raw, "d"), ms));
  for (const raw of ["", "10", "s", "10x", "-1s", "1s2"]) {
    it(`rejects "${raw}"`, () => assert.throws(() => parseDuration(raw, "d")));
  }
  it("parses hosts", () => {
    assert.deepEqual(bindAddress("127.0.0.1:0", "f"), { host: "127.0.0.1", port: 0 });
    assert.deepEqual(bindAddress("[::1]:9090", "f"), { host: "::1", port: 9090 });
  });
});

// Durations as typed on the command line and in YAML, and ages as tables show them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatAge, parseDuration, parseSeconds } from "./duration.ts";

describe("parseDuration", () => {
  const cases: Array<[string, number]> = [
    ["500ms", 500],
    ["30s", 30_000],
    ["10m", 600_000],
    ["1h30m", 5_400_000],
    ["2d", 172_800_000],
    ["1.5s", 1500],
  ];
  for (const [text, ms] of cases) it(`reads ${text}`, () => assert.equal(parseDuration(text), ms));

  for (const text of ["10", "", "10x", "m", "1h 30m", "-5s"]) {
    it(`refuses ${JSON.stringify(text)} and says what to write`, () =>
      assert.throws(() => parseDuration(text), /is not a duration: use a number with a unit, like 30s/));
  }
});

describe("parseSeconds", () => {
  it("takes bare seconds or a whole-second duration", () => {
    assert.equal(parseSeconds("90"), 90);
    assert.equal(parseSeconds("2m"), 120);
    assert.throws(() => parseSeconds("1500ms"), /not a whole number of seconds/);
  });
});

describe("formatAge", () => {
  const cases: Array<[number, string]> = [
    [-5, "0s"],
    [59_000, "59s"],
    [119_000, "119s"],
    [120_000, "2m"],
    [7_199_000, "119m"],
    [7_200_000, "2h"],
    [47 * 3_600_000, "47h"],
    [48 * 3_600_000, "2d"],
  ];
  for (const [ms, text] of cases) it(`shows ${ms} ms as ${text}`, () => assert.equal(formatAge(ms), text));
});

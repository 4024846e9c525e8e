import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "@fast-sandbox/api";
import { parseSignal, signalName, signalOfExit } from "./process-signals.ts";

describe("parseSignal", () => {
  const cases: Array<[string | number, number]> = [
    ["SIGTERM", 15],
    ["SIGKILL", 9],
    ["SIGINT", 2],
    ["SIGHUP", 1],
    ["SIGQUIT", 3],
    ["SIGUSR1", 10],
    ["SIGUSR2", 12],
    ["term", 15],
    ["KILL", 9],
    ["9", 9],
    [28, 28],
    [64, 64],
  ];
  for (const [input, want] of cases)
    it(`reads ${JSON.stringify(input)} as ${want}`, () => assert.equal(parseSignal(input), want));
  for (const input of ["SIGNOPE", "", 0, 65, 1.5, "-1"]) {
    it(`refuses ${JSON.stringify(input)}`, () =>
      assert.throws(() => parseSignal(input), { code: ErrorCode.InvalidArgument, field: "signal" }));
  }
});

describe("signalName and signalOfExit", () => {
  it("names standard signals and numbers real-time ones", () => {
    assert.equal(signalName(9), "SIGKILL");
    assert.equal(signalName(40), "SIG40");
  });
  const exits: Array<[number, string]> = [
    [0, ""],
    [1, ""],
    [128, ""],
    [130, "SIGINT"],
    [137, "SIGKILL"],
    [143, "SIGTERM"],
    [200, ""],
  ];
  for (const [status, want] of exits)
    it(`reads exit ${status} as "${want}"`, () => assert.equal(signalOfExit(status), want));
});

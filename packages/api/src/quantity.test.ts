import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "./errors.ts";
import { parseCpu, parseMemory, resourcesSchema } from "./quantity.ts";
import { parseOrThrow } from "./zod-error.ts";

const Mi = 1024 * 1024;

describe("parseCpu", () => {
  const valid: [string, number][] = [
    ["500m", 500],
    ["1m", 1],
    ["2", 2000],
    ["0.5", 500],
    ["1.5", 1500],
    [".25", 250],
    ["0.001", 1],
    ["1.", 1000],
    ["2.000", 2000],
    ["1.0m", 1],
    ["0064", 64000],
  ];
  for (const [input, millis] of valid) {
    it(`reads ${JSON.stringify(input)} as ${millis} millicores`, () => {
      assert.equal(parseCpu(input), millis);
    });
  }

  const invalid: [string, unknown, RegExp][] = [
    ["zero", "0", /must be greater than zero/],
    ["zero millicores", "0m", /must be greater than zero/],
    ["zero with decimals", "0.000", /must be greater than zero/],
    ["negative", "-1", /must be greater than zero/],
    ["empty", "", /not a valid CPU quantity/],
    ["only a dot", ".", /not a valid CPU quantity/],
    ["only a suffix", "m", /not a valid CPU quantity/],
    ["garbage", "fast", /"fast" is not a valid CPU quantity: use a positive number of cores/],
    ["four decimals", "0.0005", /finer than one millicore/],
    ["fractional millicores", "1.5m", /finer than one millicore/],
    ["memory suffix", "1Gi", /not a valid CPU quantity/],
    ["exponent", "1e3", /not a valid CPU quantity/],
    ["plus sign", "+1", /not a valid CPU quantity/],
    ["spaces", " 1", /not a valid CPU quantity/],
    ["unsafe integer", "9007199254741", /too large/],
    ["too long", "1".repeat(65), /at most 64 characters/],
    ["a number", 2, /must be a string/],
  ];
  for (const [name, input, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseCpu(input, "sandbox.resources.cpu"), {
        name: "FsbError",
        code: ErrorCode.InvalidArgument,
        field: "sandbox.resources.cpu",
        message,
      });
    });
  }
});

describe("parseMemory", () => {
  const valid: [string, number][] = [
    ["256Mi", 256 * Mi],
    ["4Mi", 4 * Mi],
    ["4194304", 4 * Mi],
    ["4096Ki", 4 * Mi],
    ["1Gi", 1024 * Mi],
    ["1.5Gi", 1536 * Mi],
    ["0.5Gi", 512 * Mi],
    ["5M", 5_000_000],
    ["1G", 1_000_000_000],
    ["5000k", 5_000_000],
    ["1T", 1e12],
    ["1Ti", 1024 ** 4],
    ["1Pi", 1024 ** 5],
    ["1P", 1e15],
    ["0.001E", 1e15],
  ];
  for (const [input, bytes] of valid) {
    it(`reads ${JSON.stringify(input)} as ${bytes} bytes`, () => {
      assert.equal(parseMemory(input), bytes);
    });
  }

  const invalid: [string, unknown, RegExp][] = [
    ["zero", "0", /must be greater than zero/],
    ["zero with suffix", "0Mi", /must be greater than zero/],
    ["negative", "-256Mi", /must be greater than zero/],
    ["below 4Mi", "4194303", /below the minimum of 4Mi \(4194304 bytes\): runc cannot start a container/],
    ["3Mi", "3Mi", /below the minimum of 4Mi/],
    ["4M is under 4Mi", "4M", /below the minimum/],
    ["lowercase m (millibytes)", "256m", /not a valid memory quantity.*case-sensitive/],
    ["lowercase mi", "256mi", /not a valid memory quantity/],
    ["lowercase ki", "8192ki", /not a valid memory quantity/],
    ["uppercase K", "8192K", /not a valid memory quantity/],
    ["MB suffix", "256MB", /not a valid memory quantity/],
    ["exponent", "1e9", /not a valid memory quantity/],
    ["fractional bytes", "5000000.5", /not a whole number of bytes/],
    ["fractional kilobytes", "4194.3045k", /not a whole number of bytes/],
    ["garbage", "lots", /"lots" is not a valid memory quantity: use a positive whole number of bytes/],
    ["empty", "", /not a valid memory quantity/],
    ["only a suffix", "Gi", /not a valid memory quantity/],
    ["exabyte overflow", "8Ei", /too large/],
    ["a number", 268435456, /must be a string/],
  ];
  for (const [name, input, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseMemory(input, "sandbox.resources.memory"), {
        name: "FsbError",
        code: ErrorCode.InvalidArgument,
        field: "sandbox.resources.memory",
        message,
      });
    });
  }
});

describe("resourcesSchema", () => {
  const valid: [string, unknown, unknown][] = [
    ["nothing", {}, {}],
    ["cpu only", { cpu: "250m" }, { cpuMillis: 250 }],
    [
      "everything",
      { cpu: "1.5", memory: "512Mi", pids: 256 },
      { cpuMillis: 1500, memoryBytes: 512 * Mi, pids: 256 },
    ],
    ["pids bounds", { pids: 1_000_000 }, { pids: 1_000_000 }],
  ];
  for (const [name, input, expected] of valid) {
    it(`transforms ${name}`, () => {
      assert.deepEqual(parseOrThrow(resourcesSchema, input, "sandbox.resources"), expected);
    });
  }

  const invalid: [string, unknown, string, RegExp][] = [
    ["bad cpu", { cpu: "lots" }, "sandbox.resources.cpu", /"lots" is not a valid CPU quantity/],
    ["small memory", { memory: "1Mi" }, "sandbox.resources.memory", /runc cannot start a container/],
    ["numeric cpu", { cpu: 2 }, "sandbox.resources.cpu", /expected string, received number/],
    ["zero pids", { pids: 0 }, "sandbox.resources.pids", /must be a whole number from 1 to 1000000/],
    ["too many pids", { pids: 1_000_001 }, "sandbox.resources.pids", /from 1 to 1000000/],
    ["fractional pids", { pids: 1.5 }, "sandbox.resources.pids", /whole number/],
    ["unknown field", { cpus: "1" }, "sandbox.resources.cpus", /unknown field "cpus" is not allowed/],
    ["not an object", "1 cpu", "sandbox.resources", /expected object, received string/],
  ];
  for (const [name, input, field, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseOrThrow(resourcesSchema, input, "sandbox.resources"), {
        code: ErrorCode.InvalidArgument,
        field,
        message,
      });
    });
  }
});

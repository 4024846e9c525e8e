import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "./errors.ts";
import { exposedPortsSchema } from "./ports.ts";
import { parseOrThrow } from "./zod-error.ts";

describe("exposedPortsSchema", () => {
  const valid: [string, number[]][] = [
    ["empty", []],
    ["one port", [8080]],
    ["bounds", [1, 65535]],
    ["64 ports", Array.from({ length: 64 }, (_, i) => 1000 + i)],
  ];
  for (const [name, ports] of valid) {
    it(`accepts ${name}`, () => {
      assert.deepEqual(parseOrThrow(exposedPortsSchema, ports, "sandbox.exposedPorts"), ports);
    });
  }

  const invalid: [string, unknown, string, RegExp][] = [
    ["zero", [80, 0], "sandbox.exposedPorts[1]", /must be a whole port number from 1 to 65535/],
    ["negative", [-1], "sandbox.exposedPorts[0]", /from 1 to 65535/],
    ["too high", [65536], "sandbox.exposedPorts[0]", /from 1 to 65535/],
    ["fractional", [80.5], "sandbox.exposedPorts[0]", /whole port number/],
    ["NaN", [Number.NaN], "sandbox.exposedPorts[0]", /expected number, received NaN/],
    ["a string", [80, "443"], "sandbox.exposedPorts[1]", /expected number, received string/],
    ["not an array", { 0: 80 }, "sandbox.exposedPorts", /expected array, received object/],
    ["duplicate", [80, 443, 80], "sandbox.exposedPorts[2]", /port 80 is listed twice \(first at index 0\)/],
    [
      "second duplicate pair reported at its own index",
      [1, 2, 3, 3],
      "sandbox.exposedPorts[3]",
      /port 3 is listed twice \(first at index 2\)/,
    ],
    [
      "65 ports",
      Array.from({ length: 65 }, (_, i) => 1000 + i),
      "sandbox.exposedPorts",
      /must list at most 64 ports \(got 65\)/,
    ],
  ];
  for (const [name, ports, field, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseOrThrow(exposedPortsSchema, ports, "sandbox.exposedPorts"), {
        name: "FsbError",
        code: ErrorCode.InvalidArgument,
        field,
        message,
      });
    });
  }
});

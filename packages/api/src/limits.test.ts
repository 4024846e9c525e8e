// The documented limits (docs/api.md, "Limits"): accepted at the limit, refused one over it, naming the field.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { envListSchema, envMapSchema, envMaxEntries, envMaxTotalBytes } from "./env.ts";
import { ErrorCode, isFsbError } from "./errors.ts";
import { validatePoolSpec } from "./pool-validation.ts";
import {
  labelsMaxEntries,
  labelsMaxTotalBytes,
  maxArgBytes,
  maxArgsTotalBytes,
  validateFutureExpireTime,
  validateLabelLimits,
  validateLabels,
  validateSandboxSpec,
} from "./sandbox-validation.ts";
import { parseOrThrow } from "./zod-error.ts";

function refusedField(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.ok(isFsbError(err, ErrorCode.InvalidArgument), String(err));
    return err.field ?? "";
  }
}

const labels = (count: number, valueLength = 1) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, "v".repeat(valueLength)]));
/** `count` variables of `valueBytes` each. */
const envList = (count: number, valueBytes: number) =>
  Array.from({ length: count }, (_, i) => ({ name: `V${i}`, value: "x".repeat(valueBytes) }));
/** Args of `maxArgBytes` each, enough to cross `total` bytes with their NULs. */
const argsOver = (total: number) =>
  Array.from({ length: Math.ceil(total / (maxArgBytes + 1)) + 1 }, () => "a".repeat(maxArgBytes));

describe("limits", () => {
  const cases: Array<{ name: string; check: () => unknown; field?: string }> = [
    { name: `${labelsMaxEntries} labels`, check: () => validateLabels(labels(labelsMaxEntries)) },
    {
      name: `${labelsMaxEntries + 1} labels`,
      check: () => validateLabels(labels(labelsMaxEntries + 1)),
      field: "labels",
    },
    {
      name: "labels over the total size",
      // 60 labels of a 63-byte prefixed key and a 63-byte value pass the count, not the size.
      check: () =>
        validateLabels(
          Object.fromEntries(
            Array.from({ length: 60 }, (_, i) => [
              `${"d".repeat(250)}.io/k${String(i).padStart(60, "0")}`,
              "v".repeat(63),
            ]),
          ),
        ),
      field: "labels",
    },
    {
      name: "merged labels over the count",
      check: () => validateLabelLimits(labels(100), "labels"),
      field: "labels",
    },
    {
      name: `${envMaxEntries} env entries`,
      check: () => validateSandboxSpec({ image: "a", env: envList(envMaxEntries, 10) }, ""),
    },
    {
      name: "env over the total size (list form)",
      check: () => validateSandboxSpec({ image: "a", env: envList(10, envMaxTotalBytes / 10) }, ""),
      field: "env",
    },
    {
      name: "env over the total size (map form, the agent's)",
      check: () =>
        parseOrThrow(
          envMapSchema,
          Object.fromEntries(envList(10, envMaxTotalBytes / 10).map((e) => [e.name, e.value])),
          "sandbox.env",
        ),
      field: "sandbox.env",
    },
    {
      name: "env at the total size",
      check: () => parseOrThrow(envListSchema, envList(8, envMaxTotalBytes / 8 - 5), "env"),
    },
    {
      name: "command over the total size",
      check: () => validateSandboxSpec({ image: "a", command: argsOver(maxArgsTotalBytes) }, ""),
      field: "command",
    },
    {
      name: "command and args over the total size together",
      check: () =>
        validateSandboxSpec(
          { image: "a", command: argsOver(maxArgsTotalBytes / 2), args: argsOver(maxArgsTotalBytes / 2) },
          "",
        ),
      field: "args",
    },
    {
      name: "a prewarm template over the total size",
      check: () =>
        validatePoolSpec({ prewarm: [{ image: "a", args: argsOver(maxArgsTotalBytes), count: 1 }] }),
      field: "spec.prewarm[0].args",
    },
    {
      name: "an expire time in the future",
      check: () => validateFutureExpireTime("2000-01-01T00:00:01Z", Date.UTC(2000, 0, 1)),
    },
    {
      name: "an expire time equal to now",
      check: () => validateFutureExpireTime("2000-01-01T00:00:00Z", Date.UTC(2000, 0, 1)),
      field: "expireTime",
    },
    {
      name: "an expire time in the past",
      check: () => validateFutureExpireTime("2000-01-01T00:00:00Z", Date.now()),
      field: "expireTime",
    },
  ];
  for (const c of cases) {
    it(`${c.field === undefined ? "accepts" : "refuses"} ${c.name}`, () => {
      assert.equal(refusedField(c.check), c.field);
    });
  }
  it("keeps the label size limit above what the count allows of ordinary labels", () => {
    assert.ok(labelsMaxEntries * (63 + 63) <= labelsMaxTotalBytes);
  });
});

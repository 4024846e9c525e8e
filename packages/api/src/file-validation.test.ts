import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FsbError } from "./errors.ts";
import {
  FileLimits,
  parseOctalMode,
  validateFileMode,
  validateFilePath,
  validateListDepth,
  validateWriteContent,
} from "./file-validation.ts";

function refused(fn: () => unknown, field: string): void {
  assert.throws(
    fn,
    (err) => err instanceof FsbError && err.code === "INVALID_ARGUMENT" && err.field === field,
  );
}

describe("validateFilePath", () => {
  const cases: [string, string][] = [
    ["/", "/"],
    ["/tmp/a b", "/tmp/a b"],
    ["//tmp/./x/", "/tmp/x"],
    ["/tmp/../../etc", "/tmp/../../etc"],
    ["/new\nline", "/new\nline"],
  ];
  for (const [input, want] of cases) {
    it(`normalises ${JSON.stringify(input)}`, () => assert.equal(validateFilePath(input), want));
  }
  it("refuses empty, relative, NUL and overlong paths, naming the field", () => {
    refused(() => validateFilePath(""), "path");
    refused(() => validateFilePath("tmp/x", "from"), "from");
    refused(() => validateFilePath("/a\0b"), "path");
    refused(() => validateFilePath(`/${"a".repeat(FileLimits.maxPathBytes)}`), "path");
  });
});

describe("modes and depths", () => {
  it("takes modes 0..0o7777, 0 meaning the default", () => {
    assert.equal(validateFileMode(0), undefined);
    assert.equal(validateFileMode(0o755), 0o755);
    refused(() => validateFileMode(0o10000), "mode");
    refused(() => validateFileMode(-1), "mode");
  });
  it("parses octal modes of a query string", () => {
    assert.equal(parseOctalMode("644"), 0o644);
    assert.equal(parseOctalMode("0755"), 0o755);
    assert.equal(parseOctalMode(null), undefined);
    refused(() => parseOctalMode("9"), "mode");
    refused(() => parseOctalMode("0x1ff"), "mode");
  });
  it("takes depths 0 (one level) to the limit", () => {
    assert.equal(validateListDepth(0), 1);
    assert.equal(validateListDepth(3), 3);
    refused(() => validateListDepth(FileLimits.maxListDepth + 1), "depth");
    refused(() => validateListDepth(1.5), "depth");
  });
  it("bounds WriteFile content", () => {
    assert.equal(validateWriteContent(new Uint8Array(10)).length, 10);
    refused(() => validateWriteContent(new Uint8Array(FileLimits.maxWriteFileBytes + 1)), "content");
  });
});

// The exec request limits (docs/api.md, "Limits"): accepted at the limit, refused past it, naming the field.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isFsbError } from "./errors.ts";
import {
  execTimeoutMaxMs,
  parseProcessSignal,
  processInputMaxBytes,
  validateExecSpec,
  validateProcessId,
  validateProcessInput,
  validatePtySize,
} from "./process-validation.ts";
import { maxArgBytes } from "./sandbox-validation.ts";

function refusedField(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.ok(isFsbError(err, ErrorCode.InvalidArgument), String(err));
    return err.field ?? "";
  }
}

describe("exec spec", () => {
  const cases: Array<{ name: string; spec: Record<string, unknown>; field?: string }> = [
    { name: "a command", spec: { command: ["echo", "hi"] } },
    {
      name: "everything",
      spec: {
        command: ["sh"],
        env: { A: "1" },
        cwd: "/tmp",
        user: "nobody:nogroup",
        stdin: true,
        tty: true,
        cols: 80,
        rows: 24,
        timeoutMs: execTimeoutMaxMs,
      },
    },
    { name: "uid:gid", spec: { command: ["id"], user: "1000:1000" } },
    { name: "no command", spec: { command: [] }, field: "command" },
    { name: "NUL in an arg", spec: { command: ["a\0"] }, field: "command[0]" },
    { name: "an arg over 8 KiB", spec: { command: ["a".repeat(maxArgBytes + 1)] }, field: "command[0]" },
    {
      name: "command over 256 KiB",
      spec: { command: Array.from({ length: 33 }, () => "a".repeat(maxArgBytes)) },
      field: "command",
    },
    { name: "257 entries", spec: { command: Array.from({ length: 257 }, () => "a") }, field: "command" },
    { name: "bad env name", spec: { command: ["a"], env: { "1X": "v" } }, field: "env.1X" },
    {
      name: "env value over 32 KiB",
      spec: { command: ["a"], env: { A: "x".repeat(32 * 1024 + 1) } },
      field: "env.A",
    },
    { name: "relative cwd", spec: { command: ["a"], cwd: "tmp" }, field: "cwd" },
    { name: "cwd with ..", spec: { command: ["a"], cwd: "/a/../b" }, field: "cwd" },
    { name: "user with a space", spec: { command: ["a"], user: "a b" }, field: "user" },
    { name: "user with two colons", spec: { command: ["a"], user: "1:2:3" }, field: "user" },
    { name: "cols without tty", spec: { command: ["a"], cols: 80 }, field: "cols" },
    { name: "rows over 65535", spec: { command: ["a"], tty: true, rows: 65_536 }, field: "rows" },
    {
      name: "timeout over a day",
      spec: { command: ["a"], timeoutMs: execTimeoutMaxMs + 1 },
      field: "timeoutMs",
    },
    { name: "an unknown key", spec: { command: ["a"], bogus: 1 }, field: "bogus" },
  ];
  for (const c of cases) {
    it(`${c.field === undefined ? "accepts" : "refuses"} ${c.name}`, () => {
      assert.equal(
        refusedField(() => validateExecSpec(c.spec)),
        c.field,
      );
    });
  }
});

describe("process requests", () => {
  it("takes signal names and numbers 1-64, and nothing else", () => {
    assert.equal(parseProcessSignal("SIGTERM"), "SIGTERM");
    assert.equal(parseProcessSignal("9"), 9);
    assert.equal(parseProcessSignal("64"), 64);
    for (const bad of ["", "TERM", "sigterm", "0", "65", "09", "-1", "SIGSTOP"]) {
      assert.equal(
        refusedField(() => parseProcessSignal(bad)),
        "signal",
        bad,
      );
    }
  });

  it("takes input up to 1 MiB per call", () => {
    assert.equal(
      refusedField(() => validateProcessInput(new Uint8Array(processInputMaxBytes))),
      undefined,
    );
    assert.equal(
      refusedField(() => validateProcessInput(new Uint8Array(processInputMaxBytes + 1))),
      "data",
    );
  });

  it("takes terminal sizes 1-65535", () => {
    assert.equal(
      refusedField(() => validatePtySize({ cols: 1, rows: 65_535 })),
      undefined,
    );
    assert.equal(
      refusedField(() => validatePtySize({ cols: 0, rows: 24 })),
      "cols",
    );
    assert.equal(
      refusedField(() => validatePtySize({ cols: 80, rows: 65_536 })),
      "rows",
    );
  });

  it("takes process ids as agents hand them out", () => {
    assert.equal(
      refusedField(() => validateProcessId("p-1_a")),
      undefined,
    );
    assert.equal(
      refusedField(() => validateProcessId("")),
      "processId",
    );
    assert.equal(
      refusedField(() => validateProcessId("../x")),
      "processId",
    );
    assert.equal(
      refusedField(() => validateProcessId("a".repeat(129))),
      "processId",
    );
  });
});

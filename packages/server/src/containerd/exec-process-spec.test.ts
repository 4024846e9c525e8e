import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "@fast-sandbox/api";
import { execProcessSpec } from "./exec-process-spec.ts";
import { defaultSpec } from "./oci-spec.ts";

const base = () => ({
  ...defaultSpec().process,
  env: ["PATH=/bin", "HOME=/root"],
  cwd: "/srv",
  args: ["sleep", "600"],
});

describe("execProcessSpec", () => {
  it("keeps the container's process but for the args", () => {
    const p = execProcessSpec(base(), { args: ["echo", "hi"] });
    assert.deepEqual(p.args, ["echo", "hi"]);
    assert.equal(p.cwd, "/srv");
    assert.deepEqual(p.env, ["PATH=/bin", "HOME=/root"]);
    assert.deepEqual(p.capabilities, base().capabilities);
    assert.equal(p.noNewPrivileges, true);
    assert.equal(p.terminal, false);
  });

  it("merges env over the container's, sets cwd, user and a terminal with its size", () => {
    const p = execProcessSpec(base(), {
      args: ["sh"],
      env: { HOME: "/tmp", X: "1" },
      cwd: "/work",
      user: { uid: 1000, gid: 5 },
      terminal: { cols: 100, rows: 30 },
    });
    assert.deepEqual(p.env, ["PATH=/bin", "HOME=/tmp", "X=1"]);
    assert.equal(p.cwd, "/work");
    assert.deepEqual(p.user, { uid: 1000, gid: 5 });
    assert.equal(p.terminal, true);
    assert.deepEqual(p.consoleSize, { width: 100, height: 30 });
  });

  it("does not change the base", () => {
    const b = base();
    execProcessSpec(b, { args: ["x"], env: { A: "1" } });
    assert.deepEqual(b, base());
  });

  it("refuses a relative cwd", () =>
    assert.throws(() => execProcessSpec(base(), { args: ["x"], cwd: "tmp" }), {
      code: ErrorCode.InvalidArgument,
    }));
});

// processStartTime on real processes: this one, a child before and after it exits, and no process at all.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { processStartTime } from "./process-start.ts";

describe("processStartTime", () => {
  it("reads a live process's start time, the same each time", async () => {
    const start = processStartTime(process.pid);
    assert.match(start ?? "", /^\d+$/);
    assert.equal(processStartTime(process.pid), start);
  });

  it("tells a later process from an earlier one, and an exited one from a live one", async () => {
    const child = spawn("sleep", ["30"]);
    const start = processStartTime(child.pid!);
    assert.match(start ?? "", /^\d+$/);
    child.kill("SIGKILL");
    await once(child, "exit");
    assert.equal(processStartTime(child.pid!), undefined);
  });

  it("answers undefined for a pid that names nothing", async () => {
    assert.equal(processStartTime(0), undefined);
    assert.equal(processStartTime(-1), undefined);
    assert.equal(processStartTime(2 ** 22 + 12345), undefined);
  });
});

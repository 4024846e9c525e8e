import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "@fast-sandbox/api";
import { ProcessTable } from "./process-table.ts";

const entry = (running: boolean) => ({ running });

describe("ProcessTable", () => {
  it("caps running processes and starts in flight per sandbox, not across sandboxes", () => {
    const table = new ProcessTable<{ running: boolean }>({
      maxRunning: 2,
      maxKeptExited: 2,
      keepExitedMs: 60_000,
    });
    const release = table.reserve("a");
    table.add("a", "p1", entry(true));
    release();
    release(); // twice is harmless
    const second = table.reserve("a");
    assert.throws(() => table.reserve("a"), { code: ErrorCode.ResourceExhausted });
    table.reserve("b")();
    second();
    table.reserve("a")();
  });

  it("does not count exited processes against the cap, and keeps at most maxKeptExited of them", () => {
    const table = new ProcessTable<{ running: boolean }>({
      maxRunning: 1,
      maxKeptExited: 2,
      keepExitedMs: 60_000,
    });
    for (const id of ["p1", "p2", "p3"]) {
      const release = table.reserve("a");
      const p = entry(true);
      table.add("a", id, p);
      release();
      p.running = false;
      table.exited("a", id);
    }
    assert.deepEqual(
      table.list("a").map((p) => p.running),
      [false, false],
    );
    assert.throws(() => table.get("a", "p1"), { code: ErrorCode.NotFound, field: "processId" });
    assert.ok(table.get("a", "p3"));
    table.removeSandbox("a");
  });

  it("forgets an exited process after keepExitedMs", async () => {
    const table = new ProcessTable<{ running: boolean }>({
      maxRunning: 1,
      maxKeptExited: 5,
      keepExitedMs: 10,
    });
    table.add("a", "p1", entry(false));
    table.exited("a", "p1");
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(table.list("a"), []);
  });

  it("removes a sandbox's processes at once", () => {
    const table = new ProcessTable<{ running: boolean }>({
      maxRunning: 3,
      maxKeptExited: 3,
      keepExitedMs: 60_000,
    });
    table.add("a", "p1", entry(true));
    table.add("b", "p2", entry(true));
    assert.equal(table.removeSandbox("a").length, 1);
    assert.equal(table.all().length, 1);
  });
});

// The Sandbox handle against fake operations: waiting ends in a typed error when the sandbox is gone.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FastSandboxError, NotFoundError } from "./errors.ts";
import { Sandbox, type SandboxOps } from "./sandbox.ts";
import type { SandboxDetails } from "./sandbox-info.ts";

const details = { name: "web", namespace: "default", phase: "Pending" } as SandboxDetails;

/** Operations whose watch yields `events` and then waits until its signal aborts. */
function opsWatching(events: Array<SandboxDetails | undefined>): SandboxOps {
  const unused = () => {
    throw new Error("not used");
  };
  return {
    get: unused,
    delete: unused,
    logs: unused,
    process: undefined as never,
    files: undefined as never,
    async *watchOne(_name, _namespace, signal) {
      for (const event of events) yield event;
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    },
  };
}

describe("Sandbox.waitUntil", () => {
  it("throws NotFoundError for a sandbox that does not exist", async () => {
    const box = new Sandbox(details, opsWatching([undefined]));
    await assert.rejects(box.waitUntil("Running"), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.code, "not_found");
      assert.match(err.message, /default\/web was deleted/);
      return true;
    });
  });

  it("throws NotFoundError for a sandbox deleted while waiting", async () => {
    const box = new Sandbox(details, opsWatching([{ ...details, phase: "Bound" }, undefined]));
    await assert.rejects(box.waitUntil("Running"), NotFoundError);
    assert.equal(box.phase, "Bound");
  });

  it("resolves once the phase is reached", async () => {
    const box = new Sandbox(details, opsWatching([{ ...details, phase: "Running" }]));
    assert.equal(await box.waitUntil("Running"), box);
  });

  it("a timeout is deadline_exceeded, not NotFoundError", async () => {
    const box = new Sandbox(details, opsWatching([]));
    await assert.rejects(box.waitUntil("Running", { timeoutMs: 20 }), (err: unknown) => {
      assert.ok(err instanceof FastSandboxError && !(err instanceof NotFoundError));
      assert.equal(err.code, "deadline_exceeded");
      return true;
    });
  });
});

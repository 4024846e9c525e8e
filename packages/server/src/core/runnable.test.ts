// The runnable manager: start in order, stop in reverse, a failed start stops what started, a stop during the start.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { loop, type Runnable, RunnableManager, step } from "./runnable.ts";

/** A runnable that writes what happens to it into `log`; `failStart` makes its start reject. */
function recorder(
  name: string,
  log: string[],
  options: { failStart?: boolean; failStop?: boolean } = {},
): Runnable {
  return {
    async start(signal) {
      log.push(`start ${name}`);
      signal.addEventListener("abort", () => log.push(`abort ${name}`));
      if (options.failStart) throw new Error(`${name} cannot start`);
    },
    async stop() {
      log.push(`stop ${name}`);
      if (options.failStop) throw new Error(`${name} cannot stop`);
    },
  };
}

describe("RunnableManager", () => {
  it("starts in the order added, and is ready only once all have started", async () => {
    const log: string[] = [];
    const manager = new RunnableManager();
    let readyDuringB: boolean | undefined;
    manager.add("a", recorder("a", log)).add("b", {
      start: async () => {
        readyDuringB = manager.ready;
        log.push("start b");
      },
      stop: async () => {},
    });
    assert.equal(manager.ready, false);
    await manager.start();
    assert.deepEqual(log, ["start a", "start b"]);
    assert.equal(readyDuringB, false);
    assert.equal(manager.ready, true);
  });

  it("stops in reverse order, aborting each one's signal just before its own stop", async () => {
    const log: string[] = [];
    const manager = new RunnableManager()
      .add("a", recorder("a", log))
      .add("b", recorder("b", log))
      .add("c", recorder("c", log));
    await manager.start();
    log.length = 0;
    await manager.stop();
    assert.deepEqual(log, ["abort c", "stop c", "abort b", "stop b", "abort a", "stop a"]);
    assert.equal(manager.ready, false);
  });

  it("stops once however often it is asked", async () => {
    const log: string[] = [];
    const manager = new RunnableManager().add("a", recorder("a", log));
    await manager.start();
    await Promise.all([manager.stop(), manager.stop()]);
    await manager.stop();
    assert.deepEqual(log, ["start a", "abort a", "stop a"]);
  });

  it("a failing start stops the started ones (itself included) in reverse, starts no more, and rejects", async () => {
    const log: string[] = [];
    const manager = new RunnableManager()
      .add("a", recorder("a", log))
      .add("b", recorder("b", log))
      .add("c", recorder("c", log, { failStart: true }))
      .add("d", recorder("d", log));
    await assert.rejects(manager.start(), /c cannot start/);
    assert.deepEqual(log, [
      "start a",
      "start b",
      "start c",
      "abort c",
      "stop c",
      "abort b",
      "stop b",
      "abort a",
      "stop a",
    ]);
    assert.equal(manager.ready, false);
  });

  it("a stop during a start cuts that start's waits, stops what started and starts no more", async () => {
    const log: string[] = [];
    const manager = new RunnableManager()
      .add("a", recorder("a", log))
      .add("slow", {
        async start(signal) {
          log.push("start slow");
          await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
          log.push("slow start ended by its signal");
        },
        async stop() {
          log.push("stop slow");
        },
      })
      .add("c", recorder("c", log));
    const starting = manager.start();
    await new Promise((r) => setImmediate(r));
    await manager.stop();
    const err = await starting.then(
      () => assert.fail("start should reject"),
      (e: unknown) => e,
    );
    assert.ok(isFsbError(err, ErrorCode.Cancelled), String(err));
    assert.deepEqual(log, [
      "start a",
      "start slow",
      "slow start ended by its signal",
      "stop slow",
      "abort a",
      "stop a",
    ]);
  });

  it("the start signal aborting stops everything", async () => {
    const log: string[] = [];
    const abort = new AbortController();
    const manager = new RunnableManager().add("a", recorder("a", log)).add("b", recorder("b", log));
    await manager.start(abort.signal);
    log.length = 0;
    abort.abort();
    await manager.stop();
    assert.deepEqual(log, ["abort b", "stop b", "abort a", "stop a"]);
  });

  it("a stop that fails does not keep the others from stopping; stop rejects with it", async () => {
    const log: string[] = [];
    const failures: string[] = [];
    const manager = new RunnableManager({ onStopError: (name) => failures.push(name) })
      .add("a", recorder("a", log))
      .add("b", recorder("b", log, { failStop: true }))
      .add("c", recorder("c", log));
    await manager.start();
    log.length = 0;
    await assert.rejects(manager.stop(), /b cannot stop/);
    assert.deepEqual(log, ["abort c", "stop c", "abort b", "stop b", "abort a", "stop a"]);
    assert.deepEqual(failures, ["b"]);
  });

  it("refuses to add once started", async () => {
    const manager = new RunnableManager().add(
      "a",
      step(() => {}),
    );
    await manager.start();
    assert.throws(
      () =>
        manager.add(
          "late",
          step(() => {}),
        ),
      /cannot add late/,
    );
  });
});

describe("loop and step", () => {
  it("loop: start waits for `until`; stop waits for the loop to end after the abort", async () => {
    const log: string[] = [];
    const runnable = loop(
      async (signal) => {
        log.push("loop running");
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
        await new Promise((r) => setTimeout(r, 10));
        log.push("loop ended");
      },
      async () => {
        log.push("synced");
      },
    );
    const manager = new RunnableManager().add("loop", runnable);
    await manager.start();
    assert.deepEqual(log, ["loop running", "synced"]);
    await manager.stop();
    assert.deepEqual(log, ["loop running", "synced", "loop ended"]);
  });

  it("step: runs its start with the signal, and its stop", async () => {
    const log: string[] = [];
    const manager = new RunnableManager().add(
      "step",
      step(
        (signal) => log.push(`start (aborted: ${signal.aborted})`),
        async () => {
          log.push("stop");
        },
      ),
    );
    await manager.start();
    await manager.stop();
    assert.deepEqual(log, ["start (aborted: false)", "stop"]);
  });
});

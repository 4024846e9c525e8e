// Wakeup: a sleep ends on wake, on timeout or on abort, whichever comes first.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Wakeup } from "./wakeup.ts";

describe("Wakeup", () => {
  it("ends a sleep without timeout when woken", async () => {
    const wakeup = new Wakeup();
    let done = false;
    const sleeping = wakeup.sleep(new AbortController().signal).then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false);
    wakeup.wake();
    await sleeping;
    assert.equal(done, true);
  });

  it("ends at the timeout, and at once for an aborted signal", async () => {
    const wakeup = new Wakeup();
    const started = performance.now();
    await wakeup.sleep(new AbortController().signal, 20);
    assert.ok(performance.now() - started >= 15);
    const abort = new AbortController();
    const sleeping = wakeup.sleep(abort.signal);
    abort.abort();
    await sleeping;
    await wakeup.sleep(abort.signal);
  });

  it("keeps no wake-up for a later sleep", async () => {
    const wakeup = new Wakeup();
    wakeup.wake();
    const started = performance.now();
    await wakeup.sleep(new AbortController().signal, 20);
    assert.ok(performance.now() - started >= 15);
  });
});

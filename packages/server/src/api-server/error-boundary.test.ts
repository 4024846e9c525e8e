// The error boundary's stream guard: errors converted, an abort ends the stream at once, and what
// the stream sent is not kept (a long-lived race promise once kept every message until the end).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { guardStream } from "./error-boundary.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const MIB = 1024 * 1024;

describe("guardStream", () => {
  it("keeps nothing of the messages it passed on while the stream goes on", async () => {
    const signal = new AbortController().signal;
    // Whether each message can still be reached, without holding it: a byte count would also see
    // backing stores the GC has dropped but not yet freed (a background sweeper frees them).
    const sent: Array<WeakRef<Uint8Array>> = [];
    async function* loud() {
      for (;;) {
        const chunk = new Uint8Array(MIB).fill(1);
        sent.push(new WeakRef(chunk));
        yield chunk;
      }
    }
    const guarded = guardStream(loud(), signal, (err) => err as Error);
    const it = guarded[Symbol.asyncIterator]();
    for (let i = 0; i < 64; i++) await it.next();
    // WeakRefs read in this job stay alive until it ends: let it end, then collect.
    await new Promise((r) => setTimeout(r, 0));
    gc();
    const alive = sent.filter((ref) => ref.deref() !== undefined).length;
    assert.ok(alive <= 2, `${alive} of ${sent.length} messages passed on are still held`);
    await it.return?.(undefined);
  });

  it("converts the source's errors", async () => {
    async function* failing() {
      yield 1;
      throw new Error("boom");
    }
    const guarded = guardStream(
      failing(),
      new AbortController().signal,
      (err) => new Error(`converted: ${(err as Error).message}`),
    );
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const v of guarded) seen.push(v);
    }, /converted: boom/);
    assert.deepEqual(seen, [1]);
  });

  it("ends with the abort reason while the source is blocked, and lets the source clean up", async () => {
    const abort = new AbortController();
    let cleaned = false;
    let release = () => {};
    async function* blocked() {
      try {
        yield 1;
        await new Promise<void>((r) => (release = r));
        yield 2;
      } finally {
        cleaned = true;
      }
    }
    const guarded = guardStream(blocked(), abort.signal, (err) => err as Error);
    const it = guarded[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { value: 1, done: false });
    const next = it.next();
    abort.abort(new Error("client gone"));
    await assert.rejects(next, /client gone/);
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal(cleaned, true);
  });
});

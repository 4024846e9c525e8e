import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OutputBuffer } from "./output-buffer.ts";

const text = (b: OutputBuffer) =>
  b
    .take()
    .chunks.map((c) => `${c.stream[3]}:${c.data.toString()}`)
    .join(",");

describe("OutputBuffer", () => {
  it("keeps chunks in order with their streams while under capacity", () => {
    const b = new OutputBuffer(10);
    b.push("stdout", Buffer.from("ab"));
    b.push("stderr", Buffer.from("cd"));
    assert.equal(b.size, 4);
    assert.equal(text(b), "o:ab,e:cd");
    assert.equal(b.size, 0);
  });

  it("drops the oldest bytes first, cutting a chunk when needed, and counts them", () => {
    const b = new OutputBuffer(5);
    b.push("stdout", Buffer.from("abc"));
    b.push("stdout", Buffer.from("def"));
    assert.equal(b.size, 5);
    assert.equal(b.dropped, 1);
    const taken = b.take();
    assert.equal(taken.dropped, 1);
    assert.deepEqual(
      taken.chunks.map((c) => c.data.toString()),
      ["bc", "def"],
    );
    assert.equal(b.dropped, 0);
  });

  it("keeps the tail of a chunk larger than the whole buffer", () => {
    const b = new OutputBuffer(4);
    b.push("stderr", Buffer.from("xy"));
    b.push("stdout", Buffer.from("0123456789"));
    const taken = b.take();
    assert.equal(taken.dropped, 8);
    assert.deepEqual(
      taken.chunks.map((c) => c.data.toString()),
      ["6789"],
    );
  });

  it("stays bounded under many small chunks", () => {
    const b = new OutputBuffer(1024);
    for (let i = 0; i < 100_000; i++) b.push("stdout", Buffer.from("x"));
    assert.equal(b.size, 1024);
    const taken = b.take();
    assert.equal(taken.dropped, 100_000 - 1024);
    assert.equal(taken.chunks.length, 1024);
  });

  it("ignores empty chunks", () => {
    const b = new OutputBuffer(4);
    b.push("stdout", Buffer.alloc(0));
    assert.deepEqual(b.take(), { dropped: 0, chunks: [] });
  });
});

/** Tests of the HTTP/1 vs HTTP/2-preface classification, including partial reads. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyHead, HTTP2_PREFACE } from "./protocol-sniffer.ts";

describe("classifyHead", () => {
  it("recognises the full preface, alone or followed by frames", () => {
    assert.equal(classifyHead(HTTP2_PREFACE), "http2");
    assert.equal(classifyHead(Buffer.concat([HTTP2_PREFACE, Buffer.from([0, 0, 0, 4])])), "http2");
  });

  it("waits while the bytes are a strict prefix of the preface", () => {
    for (let n = 0; n < HTTP2_PREFACE.length; n++) {
      assert.equal(classifyHead(HTTP2_PREFACE.subarray(0, n)), undefined, `prefix of ${n} bytes`);
    }
  });

  it("decides HTTP/1 at the first differing byte", () => {
    assert.equal(classifyHead(Buffer.from("G")), "http1");
    assert.equal(classifyHead(Buffer.from("PO")), "http1");
    assert.equal(classifyHead(Buffer.from("PUT / HTTP/1.1\r\n")), "http1");
    assert.equal(classifyHead(Buffer.from("PRI * HTTP/1.1\r\n\r\n")), "http1");
    assert.equal(classifyHead(Buffer.from([0xff, 0x00])), "http1");
  });
});

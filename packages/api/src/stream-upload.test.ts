// streamUpload against real local HTTP servers: the sender never runs far ahead of a slow receiver,
// an early refusal is an answer, and a refused connection is an error.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { streamUpload } from "./stream-upload.ts";

const MIB = 1024 * 1024;

describe("streamUpload", () => {
  const servers: http.Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  async function serve(handler: http.RequestListener): Promise<string> {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/up`;
  }

  it("reads the source only as fast as a slow receiver takes it", async () => {
    let received = 0;
    let maxAhead = 0;
    let produced = 0;
    const url = await serve(async (req, res) => {
      for await (const chunk of req) {
        received += (chunk as Buffer).length;
        await new Promise((r) => setTimeout(r, 2));
      }
      res.end(`got ${received}`);
    });
    async function* source() {
      const piece = new Uint8Array(64 * 1024);
      for (let i = 0; i < 512; i++) {
        maxAhead = Math.max(maxAhead, produced - received);
        produced += piece.length;
        yield piece;
      }
    }
    const answer = await streamUpload(url, { method: "PUT", headers: {}, body: source() });
    assert.deepEqual(answer, { status: 200, text: `got ${32 * MIB}` });
    // Socket buffers and stream high-water marks: a few MiB, never most of the 32 MiB.
    assert.ok(maxAhead < 16 * MIB, `the source ran ${(maxAhead / MIB).toFixed(1)} MiB ahead`);
  });

  it("answers a refusal sent before the body was read, and stops sending", async () => {
    let produced = 0;
    const url = await serve((req, res) => {
      res.writeHead(403, { "content-type": "application/json" });
      res.end('{"error":"no"}');
      req.resume();
    });
    async function* endless() {
      const piece = new Uint8Array(64 * 1024);
      for (;;) {
        produced += piece.length;
        yield piece;
      }
    }
    const answer = await streamUpload(url, { method: "PUT", headers: {}, body: endless() });
    assert.deepEqual(answer, { status: 403, text: '{"error":"no"}' });
    const after = produced;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(produced, after, "the source is still read after the answer");
  });

  it("reads an answer whose body comes after its headers, and closes the connection", async () => {
    let closed: Promise<void> | undefined;
    const url = await serve((req, res) => {
      closed = new Promise((resolve) => req.socket.once("close", () => resolve()));
      res.writeHead(412, { "content-type": "application/json" });
      res.flushHeaders();
      setTimeout(() => res.end('{"error":"later"}'), 100);
    });
    let returned = false;
    async function* endless() {
      try {
        for (;;) yield new Uint8Array(64 * 1024);
      } finally {
        returned = true;
      }
    }
    const answer = await streamUpload(url, { method: "PUT", headers: {}, body: endless() });
    assert.deepEqual(answer, { status: 412, text: '{"error":"later"}' });
    await closed;
    assert.ok(returned, "the source was not closed");
  });

  it("answers even while the source is stuck, and leaves no connection open", async () => {
    let closed: Promise<void> | undefined;
    const url = await serve((req, res) => {
      closed = new Promise((resolve) => req.socket.once("close", () => resolve()));
      req.once("data", () => res.end("enough"));
    });
    async function* stuck() {
      yield new Uint8Array(10);
      await new Promise(() => {});
    }
    const answer = await streamUpload(url, { method: "PUT", headers: {}, body: stuck() });
    assert.deepEqual(answer, { status: 200, text: "enough" });
    await closed;
  });

  it("rejects when nothing listens", async () => {
    const url = await serve(() => {});
    servers.at(-1)!.close();
    async function* one() {
      yield new Uint8Array(1);
    }
    await assert.rejects(streamUpload(url, { method: "PUT", headers: {}, body: one() }), {
      code: "ECONNREFUSED",
    });
  });
});

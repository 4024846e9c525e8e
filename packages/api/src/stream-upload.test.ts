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
      for (let i = 0; i < 1024; i++) {
        maxAhead = Math.max(maxAhead, produced - received);
        produced += piece.length;
        yield piece;
      }
    }
    const answer = await streamUpload(url, { method: "PUT", headers: {}, body: source() });
    assert.deepEqual(answer, { status: 200, text: `got ${64 * MIB}` });
    // Socket buffers and stream high-water marks: a few MiB, never most of the 64 MiB.
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

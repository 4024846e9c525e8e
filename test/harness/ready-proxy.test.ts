// The readiness-routing proxy of the failover suite: requests reach the ready backend only, and
// the answer is UNAVAILABLE while none is ready, as behind a Service.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { startReadyProxy } from "./ready-proxy.ts";

async function backend(name: string): Promise<{ url: string; ready: boolean; close(): Promise<void> }> {
  const b = { url: "", ready: false, close: async () => {} };
  const server = http.createServer((req, res) => {
    if (req.url === "/readyz") {
      res.writeHead(b.ready ? 200 : 503).end();
      return;
    }
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () =>
      res.writeHead(200, { "x-backend": name }).end(`${name}:${req.method}:${req.url}:${body}`),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  b.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  b.close = () => new Promise<void>((r) => server.close(() => r()));
  return b;
}

describe("ready proxy", () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers) await close();
  });

  it("routes to the ready backend, follows a change of readiness, and answers 503 while none is ready", async () => {
    const a = await backend("a");
    const b = await backend("b");
    closers.push(a.close, b.close);
    a.ready = true;
    const proxy = await startReadyProxy([a, b].map((x) => ({ url: x.url, readyz: `${x.url}/readyz` })));
    closers.unshift(() => proxy.close());
    const post = () => fetch(`${proxy.url}/svc/Method?x=1`, { method: "POST", body: "hi" });

    const first = await post();
    assert.equal(first.status, 200);
    assert.equal(await first.text(), "a:POST:/svc/Method?x=1:hi");

    a.ready = false;
    await new Promise((r) => setTimeout(r, 1100));
    const none = await post();
    assert.equal(none.status, 503);
    assert.equal(((await none.json()) as { code: string }).code, "unavailable");

    b.ready = true;
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await post()).headers.get("x-backend"), "b");
  });
});

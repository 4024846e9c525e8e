// The real /healthz probe against real sockets: answered, refused, unanswered, and the controller's own stall.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { systemClock } from "../../core/clock.ts";
import { freePort } from "../../core/free-port.ts";
import { livenessProbe, verdictOfError } from "./liveness-probe.ts";
import { LoopStalls } from "./loop-stalls.ts";

describe("livenessProbe", () => {
  let answering: http.Server;
  let silent: http.Server;
  const held: http.ServerResponse[] = [];
  const stalls = new LoopStalls();
  const probe = livenessProbe({ clock: systemClock, stalls });
  const urlOf = (s: http.Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

  before(async () => {
    answering = http.createServer((_req, res) => {
      res.statusCode = 503;
      res.end("starting");
    });
    // Accepts the connection and never answers: what a SIGSTOPped agent looks like from here.
    silent = http.createServer((_req, res) => held.push(res));
    await new Promise<void>((r) => answering.listen(0, "127.0.0.1", r));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    stalls.start();
  });
  after(async () => {
    stalls.stop();
    for (const res of held) res.destroy();
    answering.close();
    silent.closeAllConnections();
    silent.close();
  });

  it("counts any HTTP answer, even 503, as alive", async () => {
    const result = await probe(urlOf(answering), 1000);
    assert.deepEqual(result, { verdict: "answered", detail: "HTTP 503" });
  });

  it("fails at once on a refused connection", async () => {
    const started = Date.now();
    const result = await probe(`http://127.0.0.1:${await freePort()}`, 5000);
    assert.deepEqual(result, { verdict: "failed", detail: "connection refused" });
    assert.ok(Date.now() - started < 2000);
  });

  it("fails an unanswered probe after its full timeout", async () => {
    const started = Date.now();
    const result = await probe(urlOf(silent), 300);
    assert.equal(result.verdict, "failed");
    assert.ok(Date.now() - started >= 300);
  });

  it("does not count the controller's own stall: a blocked event loop extends the probe", async () => {
    const started = Date.now();
    const pending = probe(urlOf(answering), 300);
    // Block this process's event loop past the probe's timeout: the answer arrives meanwhile but
    // cannot be read until the loop runs again, and must still count.
    const until = Date.now() + 600;
    while (Date.now() < until) {
      // busy
    }
    const result = await pending;
    assert.equal(result.verdict, "answered", `after ${Date.now() - started} ms: ${result.detail}`);
  });

  it("sorts socket errors: ours are inconclusive, the agent's host refusing is a failure", () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    assert.equal(verdictOfError(err("EMFILE"))[0], "inconclusive");
    assert.equal(verdictOfError(err("ECONNRESET"))[0], "failed");
    assert.equal(verdictOfError(err("EHOSTUNREACH"))[0], "failed");
    assert.equal(verdictOfError(err("HPE_INVALID_CONSTANT"))[0], "answered");
    assert.equal(verdictOfError(err("ESOMETHING"))[0], "inconclusive");
  });
});

describe("LoopStalls", () => {
  it("sums the parts of recorded stalls inside a window", () => {
    const stalls = new LoopStalls();
    stalls.record(100, 200);
    stalls.record(500, 900);
    assert.equal(stalls.stalledMs(0, 1000), 500);
    assert.equal(stalls.stalledMs(150, 600), 150);
    assert.equal(stalls.stalledMs(300, 400), 0);
  });
});

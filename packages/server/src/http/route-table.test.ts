// The routes table over a real HTTP server: path, then token, then method; errors as the one JSON body.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { ErrorCode, FsbError, invalidArgument } from "@fast-sandbox/api";
import { BearerToken } from "./bearer-token.ts";
import { readJsonBody } from "./json-body.ts";
import { sendJson } from "./responses.ts";
import { RouteTable } from "./route-table.ts";

describe("RouteTable", () => {
  let base: string;
  let server: http.Server;
  const serverErrors: unknown[] = [];
  before(async () => {
    const table = new RouteTable(
      {
        "/echo": {
          method: "POST",
          async handle(req, res) {
            sendJson(res, 200, { got: await readJsonBody(req, 64) });
          },
        },
        "/query": {
          method: "GET",
          handle: (_req, res, url) => sendJson(res, 200, { q: url.searchParams.get("q") }),
        },
        "/open": { method: "GET", public: true, handle: (_req, res) => sendJson(res, 200, { open: true }) },
        "/field": {
          method: "GET",
          handle: () => {
            throw invalidArgument("sandbox.image", "must not be empty");
          },
        },
        "/gone": {
          method: "GET",
          handle: () => {
            throw new FsbError(ErrorCode.Unavailable, "try later");
          },
        },
        "/bug": {
          method: "GET",
          handle: () => {
            throw new TypeError("x is undefined");
          },
        },
      },
      { token: new BearerToken("tok"), onServerError: (err) => serverErrors.push(err) },
    );
    server = http.createServer((req, res) => {
      void table.serve(req, res).then((served) => {
        if (!served) res.writeHead(418).end("not mine");
      });
    });
    const notFoundServer = http.createServer((req, res) => void table.handle(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    await new Promise<void>((r) => notFoundServer.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    notFoundBase = `http://127.0.0.1:${(notFoundServer.address() as AddressInfo).port}`;
    closeNotFound = () => new Promise((r) => notFoundServer.close(() => r()));
  });
  let notFoundBase: string;
  let closeNotFound: () => Promise<void>;
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await closeNotFound();
  });

  const auth = { authorization: "Bearer tok" };
  const call = async (path: string, init: RequestInit = {}, url = base) => {
    const res = await fetch(`${url}${path}`, init);
    const text = await res.text();
    return {
      status: res.status,
      allow: res.headers.get("allow"),
      type: res.headers.get("content-type"),
      text,
    };
  };
  const errorOf = (text: string) => JSON.parse(text) as { success: boolean; error: Record<string, unknown> };

  const cases: Array<{
    name: string;
    path: string;
    init?: RequestInit;
    status: number;
    code?: string;
    message?: RegExp;
  }> = [
    { name: "a route", path: "/open", status: 200 },
    {
      name: "a POST with its body",
      path: "/echo",
      init: { method: "POST", headers: auth, body: "[1]" },
      status: 200,
    },
    { name: "a query string (the handler's)", path: "/query?q=a%20b", init: { headers: auth }, status: 200 },
    {
      name: "no token",
      path: "/query",
      status: 401,
      code: "UNAUTHENTICATED",
      message: /missing bearer token/,
    },
    {
      name: "a wrong token",
      path: "/query",
      init: { headers: { authorization: "Bearer nope" } },
      status: 401,
      code: "UNAUTHENTICATED",
      message: /wrong bearer token/,
    },
    {
      name: "the wrong method without a token (the token comes first)",
      path: "/echo",
      status: 401,
      code: "UNAUTHENTICATED",
    },
    {
      name: "the wrong method",
      path: "/echo",
      init: { headers: auth },
      status: 405,
      code: "INVALID_ARGUMENT",
      message: /^use POST$/,
    },
    {
      name: "the wrong method on a public route",
      path: "/open",
      init: { method: "DELETE" },
      status: 405,
      code: "INVALID_ARGUMENT",
      message: /^use GET$/,
    },
    {
      name: "a body over the limit",
      path: "/echo",
      init: { method: "POST", headers: auth, body: JSON.stringify("x".repeat(100)) },
      status: 413,
      code: "INVALID_ARGUMENT",
      message: /exceeds 64 bytes/,
    },
    {
      name: "malformed JSON",
      path: "/echo",
      init: { method: "POST", headers: auth, body: "{" },
      status: 400,
      code: "INVALID_ARGUMENT",
      message: /^malformed JSON/,
    },
    {
      name: "an FsbError: its code's status",
      path: "/gone",
      init: { headers: auth },
      status: 503,
      code: "UNAVAILABLE",
    },
    {
      name: "anything else: INTERNAL",
      path: "/bug",
      init: { headers: auth },
      status: 500,
      code: "INTERNAL",
      message: /x is undefined/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.status}`, async () => {
      const res = await call(c.path, c.init);
      assert.equal(res.status, c.status, res.text);
      assert.equal(res.type, "application/json");
      if (!c.code) return;
      const body = errorOf(res.text);
      assert.equal(body.success, false);
      assert.equal(body.error.code, c.code);
      if (c.message) assert.match(String(body.error.message), c.message);
      if (c.status === 405) assert.equal(res.allow, c.path === "/echo" ? "POST" : "GET");
    });
  }

  it("answers what the handler sent", async () => {
    assert.deepEqual(JSON.parse((await call("/query?q=a%20b", { headers: auth })).text), { q: "a b" });
    const echoed = await call("/echo", { method: "POST", headers: auth, body: '{"a":1}' });
    assert.deepEqual(JSON.parse(echoed.text), { got: { a: 1 } });
  });

  it("sends the field of an INVALID_ARGUMENT as its own property", async () => {
    const body = errorOf((await call("/field", { headers: auth })).text);
    assert.equal(body.error.code, "INVALID_ARGUMENT");
    assert.equal(body.error.field, "sandbox.image");
  });

  it("tells onServerError about 5xx answers only", async () => {
    serverErrors.length = 0;
    await call("/gone", { headers: auth });
    await call("/bug", { headers: auth });
    await call("/field", { headers: auth });
    assert.deepEqual(
      serverErrors.map((e) => (e as Error).message),
      ["try later", "x is undefined"],
    );
  });

  it("serve passes on paths it has no route for, even without a token", async () => {
    for (const path of ["/nope", "/open/", "/Open", "/echo/x"]) {
      const res = await call(path);
      assert.equal(res.status, 418, path);
      assert.equal(res.text, "not mine");
    }
  });

  it("handle answers 404 NOT_FOUND for them, before any token check", async () => {
    for (const path of ["/nope", "/open/", "/query/"]) {
      const res = await call(path, {}, notFoundBase);
      assert.equal(res.status, 404, path);
      const body = errorOf(res.text);
      assert.equal(body.error.code, "NOT_FOUND");
      assert.match(String(body.error.message), /^no route /);
    }
  });

  it("match names the route a request is for", () => {
    const table = new RouteTable({ "/a": { method: "GET", handle: () => {} } });
    assert.equal(table.match({ url: "/a?x=1" }), "/a");
    assert.equal(table.match({ url: "/b" }), undefined);
  });
});

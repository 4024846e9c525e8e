/** End-to-end tests of the one-port API server: every protocol and HTTP version, auth, errors, shutdown. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type Client,
  Code,
  ConnectError,
  createClient,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { FastPathService, WatchEvent_Type } from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { BadRequestSchema } from "@fast-sandbox/api/gen/google/rpc/error_details_pb.ts";
import { type ApiServer, createApiServer } from "./api-server.ts";

const TOKEN = "test-token-0123456789";
const run = promisify(execFile);

/** A stand-in FastPathService: GetSandbox echoes or fails by name; WatchSandboxes lists, syncs, then hangs. */
const dummyService: Partial<ServiceImpl<typeof FastPathService>> = {
  getSandbox(req) {
    if (req.name === "missing") {
      throw new FsbError(ErrorCode.NotFound, `sandbox ${req.namespace || "default"}/missing not found`);
    }
    if (req.name === "boom") throw new Error("disk /var/lib/fsb/secret.db is corrupt");
    if (req.name === "Bad_Name")
      throw new FsbError(ErrorCode.InvalidArgument, "must be a DNS label", { field: "name" });
    return { name: req.name, namespace: req.namespace || "default", phase: "Running", image: "alpine" };
  },
  async deleteSandbox() {
    // A slow unary call: close() must let it finish.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return {};
  },
  async *watchSandboxes(req) {
    if (req.namespace === "bad")
      throw new FsbError(ErrorCode.InvalidArgument, "must be a DNS label", { field: "namespace" });
    yield { type: WatchEvent_Type.ADDED, sandbox: { name: "a", namespace: "default", phase: "Running" } };
    yield { type: WatchEvent_Type.ADDED, sandbox: { name: "b", namespace: "default", phase: "Pending" } };
    yield { type: WatchEvent_Type.SYNCED };
    if (req.namespace === "later-fails") throw new FsbError(ErrorCode.OutOfRange, "watch too old; re-list");
    if (req.namespace === "throws-late") {
      // Fails after its stream was already ended by close(): must not become an unhandled rejection.
      await new Promise((_, reject) => setTimeout(() => reject(new Error("late failure")), 300));
    }
    // Deliberately ignores its signal: close() must end the stream anyway.
    await new Promise(() => {});
  },
};

const bearer =
  (token: string): Interceptor =>
  (next) =>
  (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };

interface Harness {
  server: ApiServer;
  baseUrl: string;
  logged: unknown[];
  sessions: Http2SessionManager[];
  transport(kind: TransportKind, token?: string, url?: string): Transport;
  client(kind: TransportKind, token?: string): Client<typeof FastPathService>;
  stop(): Promise<void>;
}

type TransportKind =
  | "connect-h1"
  | "connect-h1-binary"
  | "connect-h2"
  | "grpc-h2"
  | "grpc-web-h1"
  | "grpc-web-h2";

async function startHarness(options: { shutdownGraceMs?: number } = {}): Promise<Harness> {
  const logged: unknown[] = [];
  const server = createApiServer({
    routes: (router) => router.service(FastPathService, dummyService),
    token: TOKEN,
    logError: (err) => logged.push(err),
    shutdownGraceMs: options.shutdownGraceMs ?? 2_000,
    extraHttpHandler(req, res) {
      if (req.url === "/healthz") {
        res.statusCode = 200;
        res.end("ok");
        return true;
      }
      if (req.url === "/private") {
        res.statusCode = server.isAuthorized(req) ? 200 : 401;
        res.end();
        return true;
      }
      if (req.url === "/explode") throw new Error("handler bug");
      return false;
    },
  });
  await server.listen(0, "127.0.0.1");
  const baseUrl = `http://127.0.0.1:${server.address!.port}`;
  const sessions: Http2SessionManager[] = [];
  const h2 = (url = baseUrl) => {
    const manager = new Http2SessionManager(url);
    sessions.push(manager);
    return manager;
  };
  const transport = (kind: TransportKind, token = TOKEN, url = baseUrl): Transport => {
    const interceptors = token ? [bearer(token)] : [];
    switch (kind) {
      case "connect-h1":
        return createConnectTransport({ baseUrl: url, httpVersion: "1.1", interceptors });
      case "connect-h1-binary":
        return createConnectTransport({
          baseUrl: url,
          httpVersion: "1.1",
          useBinaryFormat: true,
          interceptors,
        });
      case "connect-h2":
        return createConnectTransport({
          baseUrl: url,
          httpVersion: "2",
          sessionManager: h2(url),
          interceptors,
        });
      case "grpc-h2":
        return createGrpcTransport({ baseUrl: url, sessionManager: h2(url), interceptors });
      case "grpc-web-h1":
        return createGrpcWebTransport({ baseUrl: url, httpVersion: "1.1", interceptors });
      case "grpc-web-h2":
        return createGrpcWebTransport({
          baseUrl: url,
          httpVersion: "2",
          sessionManager: h2(url),
          interceptors,
        });
    }
  };
  return {
    server,
    baseUrl,
    logged,
    sessions,
    transport,
    client: (kind, token) => createClient(FastPathService, transport(kind, token)),
    async stop() {
      for (const manager of sessions) manager.abort();
      await server.close();
    },
  };
}

async function rejectsWith(promise: Promise<unknown>, code: Code, message?: RegExp): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    const connectErr = ConnectError.from(err);
    assert.equal(
      connectErr.code,
      code,
      `expected ${Code[code]}, got ${Code[connectErr.code]}: ${connectErr.message}`,
    );
    if (message) assert.match(connectErr.rawMessage, message);
    return connectErr;
  }
  assert.fail(`expected ${Code[code]}, the call succeeded`);
}

/** Sends raw bytes on a fresh connection; resolves with whatever came back once the server closes it. */
async function rawExchange(port: number, chunks: Buffer[], { endAfter = false } = {}): Promise<string> {
  const socket = net.connect(port, "127.0.0.1");
  await once(socket, "connect");
  const received: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => received.push(chunk));
  socket.on("error", () => {});
  const closed = once(socket, "close");
  for (const chunk of chunks) {
    if (socket.destroyed) break;
    socket.write(chunk);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  if (endAfter) socket.end();
  const timer = setTimeout(() => socket.destroy(), 3_000);
  await closed;
  clearTimeout(timer);
  return Buffer.concat(received).toString("latin1");
}

/** A TCP proxy that forwards the first `splitBytes` client bytes one byte at a time: partial preface reads. */
async function startTricklingProxy(
  targetPort: number,
  splitBytes: number,
): Promise<{ url: string; close(): void }> {
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    upstream.pipe(client);
    let sent = 0;
    let queue = Promise.resolve();
    client.on("data", (chunk: Buffer) => {
      queue = queue.then(async () => {
        for (const byte of chunk) {
          upstream.write(Buffer.from([byte]));
          if (sent++ < splitBytes) await new Promise((resolve) => setTimeout(resolve, 1));
        }
      });
    });
  });
  proxy.listen(0, "127.0.0.1");
  await once(proxy, "listening");
  const { port } = proxy.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      for (const socket of sockets) socket.destroy();
      proxy.close();
    },
  };
}

describe("API server", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.stop();
  });

  const kinds: TransportKind[] = [
    "connect-h1",
    "connect-h1-binary",
    "connect-h2",
    "grpc-h2",
    "grpc-web-h1",
    "grpc-web-h2",
  ];

  for (const kind of kinds) {
    describe(kind, () => {
      it("answers a unary call", async () => {
        const sandbox = await h.client(kind).getSandbox({ name: "web-1", namespace: "team-a" });
        assert.equal(sandbox.name, "web-1");
        assert.equal(sandbox.namespace, "team-a");
        assert.equal(sandbox.phase, "Running");
      });

      it("streams the initial list, then SYNCED", async () => {
        const abort = new AbortController();
        const events: Array<{ type: WatchEvent_Type; name: string | undefined }> = [];
        for await (const event of h.client(kind).watchSandboxes({}, { signal: abort.signal })) {
          events.push({ type: event.type, name: event.sandbox?.name });
          if (event.type === WatchEvent_Type.SYNCED) break;
        }
        abort.abort();
        assert.deepEqual(events, [
          { type: WatchEvent_Type.ADDED, name: "a" },
          { type: WatchEvent_Type.ADDED, name: "b" },
          { type: WatchEvent_Type.SYNCED, name: undefined },
        ]);
      });

      it("maps FsbError NOT_FOUND to Code.NotFound with its message", async () => {
        await rejectsWith(
          h.client(kind).getSandbox({ name: "missing" }),
          Code.NotFound,
          /^sandbox default\/missing not found$/,
        );
      });

      it("sends an error's field as a google.rpc.BadRequest detail", async () => {
        const err = await rejectsWith(
          h.client(kind).getSandbox({ name: "Bad_Name" }),
          Code.InvalidArgument,
          /^name: must be a DNS label$/,
        );
        const violations = err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations);
        assert.deepEqual(
          violations.map((v) => ({ field: v.field, description: v.description })),
          [{ field: "name", description: "must be a DNS label" }],
        );
      });

      it("rejects a missing token with Unauthenticated", async () => {
        await rejectsWith(
          h.client(kind, "").getSandbox({ name: "x" }),
          Code.Unauthenticated,
          /missing bearer token/,
        );
      });

      it("rejects a wrong token with Unauthenticated", async () => {
        await rejectsWith(
          h.client(kind, "not-the-token").getSandbox({ name: "x" }),
          Code.Unauthenticated,
          /wrong bearer token/,
        );
      });

      it("ends a stream with the FsbError's code when the implementation fails mid-stream", async () => {
        const received: WatchEvent_Type[] = [];
        const err = await rejectsWith(
          (async () => {
            for await (const event of h.client(kind).watchSandboxes({ namespace: "later-fails" }))
              received.push(event.type);
          })(),
          Code.OutOfRange,
          /re-list/,
        );
        assert.ok(err);
        assert.equal(received.length, 3);
      });
    });
  }

  it("rejects an unauthenticated stream before it starts", async () => {
    await rejectsWith(
      (async () => {
        for await (const _ of h.client("grpc-h2", "nope").watchSandboxes({})) assert.fail("got an event");
      })(),
      Code.Unauthenticated,
    );
  });

  it("reports a failing stream's INVALID_ARGUMENT with the field name", async () => {
    await rejectsWith(
      (async () => {
        for await (const _ of h.client("connect-h1").watchSandboxes({ namespace: "bad" }))
          assert.fail("got an event");
      })(),
      Code.InvalidArgument,
      /^namespace: must be a DNS label$/,
    );
  });

  it("hides unexpected errors behind INTERNAL and logs them", async () => {
    const before = h.logged.length;
    const err = await rejectsWith(
      h.client("connect-h1").getSandbox({ name: "boom" }),
      Code.Internal,
      /internal error/,
    );
    assert.doesNotMatch(err.rawMessage, /secret/);
    assert.equal(h.logged.length, before + 1);
    assert.match(String(h.logged.at(-1)), /secret\.db/);
  });

  it("answers a plain fetch POST of JSON", async () => {
    const res = await fetch(`${h.baseUrl}/fastsandbox.v1.FastPathService/GetSandbox`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ name: "from-fetch" }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      name: "from-fetch",
      namespace: "default",
      phase: "Running",
      image: "alpine",
    });
  });

  it("answers fetch errors as Connect JSON errors", async () => {
    const notFound = await fetch(`${h.baseUrl}/fastsandbox.v1.FastPathService/GetSandbox`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ name: "missing" }),
    });
    assert.equal(notFound.status, 404);
    assert.deepEqual(await notFound.json(), {
      code: "not_found",
      message: "sandbox default/missing not found",
    });

    const unauthenticated = await fetch(`${h.baseUrl}/fastsandbox.v1.FastPathService/GetSandbox`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(unauthenticated.status, 401);
    assert.equal(((await unauthenticated.json()) as { code: string }).code, "unauthenticated");

    const badJson = await fetch(`${h.baseUrl}/fastsandbox.v1.FastPathService/GetSandbox`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: "{not json",
    });
    assert.equal(badJson.status, 400);
  });

  it("serves the Connect GET form of side-effect-free methods", async () => {
    const message = encodeURIComponent(JSON.stringify({ name: "via-get" }));
    const res = await fetch(
      `${h.baseUrl}/fastsandbox.v1.FastPathService/GetSandbox?connect=v1&encoding=json&message=${message}`,
      { headers: { authorization: `Bearer ${TOKEN}` } },
    );
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { name: string }).name, "via-get");
  });

  it("answers 404 for unknown routes, and 401 first without a token", async () => {
    const authed = await fetch(`${h.baseUrl}/no/such/path`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(authed.status, 404);
    await authed.arrayBuffer();
    const unknownRpc = await fetch(`${h.baseUrl}/fastsandbox.v1.FastPathService/Nope`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: "{}",
    });
    assert.equal(unknownRpc.status, 404);
    await unknownRpc.arrayBuffer();
    const anonymous = await fetch(`${h.baseUrl}/no/such/path`);
    assert.equal(anonymous.status, 401);
    assert.match(((await anonymous.json()) as { message: string }).message, /missing bearer token/);
  });

  it("reports an unknown method to gRPC clients as Unimplemented", async () => {
    const transport = h.transport("grpc-h2");
    const method = { ...FastPathService.method.getSandbox, name: "NoSuchMethod" };
    await rejectsWith(
      transport.unary(method, undefined, undefined, undefined, { name: "x" }, undefined),
      Code.Unimplemented,
    );
  });

  it("lets extraHttpHandler serve plain paths first and decide auth itself", async () => {
    const health = await fetch(`${h.baseUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "ok");
    const privateAnon = await fetch(`${h.baseUrl}/private`);
    assert.equal(privateAnon.status, 401);
    const privateAuthed = await fetch(`${h.baseUrl}/private`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(privateAuthed.status, 200);
    const exploded = await fetch(`${h.baseUrl}/explode`);
    assert.equal(exploded.status, 500);
    await exploded.arrayBuffer();
    assert.match(String(h.logged.at(-1)), /handler bug/);
  });

  it("works with curl over HTTP/1.1 and with --http2-prior-knowledge", async (t) => {
    try {
      await run("curl", ["--version"]);
    } catch {
      t.skip("curl is not installed");
      return;
    }
    const url = `${h.baseUrl}/fastsandbox.v1.FastPathService/GetSandbox`;
    const common = ["-sS", "-H", "Content-Type: application/json", "-H", `Authorization: Bearer ${TOKEN}`];
    for (const [flags, version] of [
      [[], "1.1"],
      [["--http2-prior-knowledge"], "2"],
    ] as const) {
      const { stdout } = await run("curl", [
        ...common,
        ...flags,
        "-d",
        '{"name":"from-curl"}',
        "-w",
        "\n%{http_version} %{http_code}",
        url,
      ]);
      const [body, status] = stdout.split("\n");
      assert.equal(status, `${version} 200`);
      assert.equal(JSON.parse(body!).name, "from-curl");
    }
    const { stdout } = await run("curl", [
      ...common.slice(0, 3),
      "--http2-prior-knowledge",
      "-d",
      "{}",
      "-w",
      "\n%{http_code}",
      url,
    ]);
    assert.match(stdout, /unauthenticated[\s\S]*\n401$/);
  });

  it("handles the HTTP/2 preface and an HTTP/1 request arriving a byte at a time", async () => {
    const proxy = await startTricklingProxy(h.server.address!.port, 40);
    try {
      for (const kind of ["grpc-h2", "connect-h1"] as const) {
        const transport = h.transport(kind, TOKEN, proxy.url);
        const sandbox = await createClient(FastPathService, transport).getSandbox({ name: `slow-${kind}` });
        assert.equal(sandbox.name, `slow-${kind}`);
      }
    } finally {
      for (const manager of h.sessions.splice(0)) manager.abort();
      proxy.close();
    }
  });

  it("survives garbage and sockets that close early", async () => {
    const port = h.server.address!.port;
    const http1Garbage = await rawExchange(port, [Buffer.from("\x00\x01garbage\r\n\r\n")]);
    assert.match(http1Garbage, /^HTTP\/1\.1 400/);
    await rawExchange(port, [
      Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
      Buffer.from("not a frame at all, just noise"),
    ]);
    await rawExchange(port, [Buffer.from("PRI * HT")], { endAfter: true });
    await rawExchange(port, [], { endAfter: true });
    await rawExchange(
      port,
      [Buffer.from("POST /fastsandbox.v1.FastPathService/GetSandbox HTTP/1.1\r\nContent-Length: 99\r\n")],
      {
        endAfter: true,
      },
    );
    const random = Buffer.alloc(4096);
    for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) & 0xff;
    await rawExchange(port, [random]);
    const immediate = net.connect(port, "127.0.0.1");
    immediate.on("error", () => {});
    immediate.destroy();
    // Still serving, on both protocols.
    assert.equal((await h.client("connect-h1").getSandbox({ name: "after" })).name, "after");
    assert.equal((await h.client("grpc-h2").getSandbox({ name: "after" })).name, "after");
  });
});

describe("API server construction", () => {
  it("requires a token unless insecure", () => {
    assert.throws(
      () => createApiServer({ routes: () => {} }),
      (err: unknown) =>
        err instanceof FsbError && err.code === ErrorCode.InvalidArgument && /token/.test(err.message),
    );
  });

  it("serves without auth when insecure", async () => {
    const server = createApiServer({
      routes: (router) => router.service(FastPathService, dummyService),
      insecure: true,
    });
    await server.listen(0, "127.0.0.1");
    try {
      const transport = createConnectTransport({
        baseUrl: `http://127.0.0.1:${server.address!.port}`,
        httpVersion: "1.1",
      });
      assert.equal(
        (await createClient(FastPathService, transport).getSandbox({ name: "open" })).name,
        "open",
      );
    } finally {
      await server.close();
    }
  });

  it("rejects listen on a port in use", async () => {
    const first = createApiServer({ routes: () => {}, insecure: true });
    await first.listen(0, "127.0.0.1");
    const second = createApiServer({ routes: () => {}, insecure: true });
    try {
      await assert.rejects(second.listen(first.address!.port, "127.0.0.1"), /EADDRINUSE/);
    } finally {
      await second.close();
      await first.close();
    }
  });
});

describe("API server close()", () => {
  it("ends open streams with Unavailable and returns promptly", async () => {
    const h = await startHarness({ shutdownGraceMs: 3_000 });
    const watch = async (kind: TransportKind, namespace = "") => {
      const events: WatchEvent_Type[] = [];
      let synced!: () => void;
      const isSynced = new Promise<void>((resolve) => {
        synced = resolve;
      });
      const done = (async () => {
        for await (const event of h.client(kind).watchSandboxes({ namespace })) {
          events.push(event.type);
          if (event.type === WatchEvent_Type.SYNCED) synced();
        }
      })();
      done.catch(() => {});
      await isSynced;
      return { events, done };
    };
    const streams = await Promise.all([
      watch("connect-h1"),
      watch("grpc-h2"),
      watch("connect-h2"),
      watch("grpc-web-h1"),
      watch("grpc-h2", "throws-late"),
    ]);
    const started = performance.now();
    await h.server.close();
    const elapsed = performance.now() - started;
    for (const stream of streams) {
      await rejectsWith(stream.done, Code.Unavailable, /shutting down/);
      assert.equal(stream.events.length, 3);
    }
    assert.ok(elapsed < 1_500, `close() took ${Math.round(elapsed)} ms`);
    await assert.rejects(h.client("connect-h1").getSandbox({ name: "late" }));
    await new Promise((resolve) => setTimeout(resolve, 400));
    await h.stop();
  });

  it("lets unary calls in flight finish within the grace period", async () => {
    const h = await startHarness({ shutdownGraceMs: 3_000 });
    const calls = (["connect-h1", "grpc-h2", "grpc-web-h1"] as const).map((kind) =>
      h.client(kind).deleteSandbox({ name: "slow" }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    await h.server.close();
    const elapsed = performance.now() - started;
    for (const call of calls) await call;
    assert.ok(elapsed >= 150 && elapsed < 2_000, `close() took ${Math.round(elapsed)} ms`);
    await h.stop();
  });
});

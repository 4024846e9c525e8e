// KubeWatch against a fake watch opener: bookmarks, renewals from the last version, ERROR events, abort.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { ManualClock } from "../core/manual-clock.ts";
import type { WatchEvent } from "../kube/list-watch.ts";
import { KubeWatch, type KubeWatchOptions, WATCH_REQUEST_SECONDS, type WatchOpener } from "./kube-watch.ts";

interface FakeRequest {
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  send(type: string, object: unknown): void;
  end(err?: unknown): void;
  aborted: boolean;
}

/** Records every watch request; the test plays the server through each request's send/end. */
function fakeServer(): { open: WatchOpener; requests: FakeRequest[] } {
  const requests: FakeRequest[] = [];
  const open: WatchOpener = async (path, query, onEvent, onDone) => {
    const controller = new AbortController();
    const request: FakeRequest = {
      path,
      query,
      send: (type, object) => onEvent(type, object),
      end: (err = null) => onDone(err),
      get aborted() {
        return controller.signal.aborted;
      },
    };
    controller.signal.addEventListener("abort", () => onDone(new DOMException("aborted", "AbortError")));
    requests.push(request);
    return controller;
  };
  return { open, requests };
}

const obj = (name: string, rv: string) => ({ metadata: { name, resourceVersion: rv } });
type Obj = ReturnType<typeof obj>;

function start(overrides: Partial<KubeWatchOptions<Obj>> = {}): {
  watch: KubeWatch<Obj>;
  server: ReturnType<typeof fakeServer>;
  clock: ManualClock;
  abort: AbortController;
} {
  const server = fakeServer();
  const clock = new ManualClock();
  const abort = new AbortController();
  const watch = new KubeWatch<Obj>({
    open: server.open,
    path: "/apis/g/v1/namespaces/ns/things",
    resourceVersion: "10",
    labelSelector: "app=web",
    signal: abort.signal,
    decode: (raw) => raw as Obj,
    bufferLimit: 100,
    clock,
    what: "watch Thing",
    ...overrides,
  });
  return { watch, server, clock, abort };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function take(watch: KubeWatch<Obj>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const next = await watch.stream.next();
    assert.equal(next.done, false);
    const event = next.value as WatchEvent<Obj>;
    out.push(`${event.type} ${event.object.metadata.name}@${event.object.metadata.resourceVersion}`);
  }
  return out;
}

async function failure(watch: KubeWatch<Obj>): Promise<unknown> {
  try {
    await watch.stream.next();
  } catch (err) {
    return err;
  }
  assert.fail("expected the watch to fail");
}

describe("KubeWatch", () => {
  it("asks for bookmarks from the given version and surfaces only object events, in order", async () => {
    const { watch, server } = start();
    await settle();
    assert.equal(server.requests.length, 1);
    const [req] = server.requests;
    assert.equal(req!.path, "/apis/g/v1/namespaces/ns/things");
    assert.deepEqual(req!.query, {
      resourceVersion: "10",
      allowWatchBookmarks: true,
      timeoutSeconds: WATCH_REQUEST_SECONDS,
      labelSelector: "app=web",
    });
    req!.send("ADDED", obj("a", "11"));
    req!.send("BOOKMARK", obj("", "12"));
    req!.send("MODIFIED", obj("a", "13"));
    req!.send("DELETED", obj("a", "14"));
    req!.send("SOMETHING_NEW", obj("x", "15"));
    assert.deepEqual(await take(watch, 3), ["ADDED a@11", "MODIFIED a@13", "DELETED a@14"]);
  });

  const endings: Array<[string, unknown]> = [
    ["the server ends the request", null],
    ["the client times out a silent connection", new DOMException("timeout", "TimeoutError")],
  ];
  for (const [what, err] of endings) {
    it(`renews the request from the last version seen (a bookmark's too) when ${what}`, async () => {
      const { watch, server } = start();
      await settle();
      server.requests[0]!.send("ADDED", obj("a", "11"));
      server.requests[0]!.send("BOOKMARK", obj("", "20"));
      server.requests[0]!.end(err);
      await settle();
      assert.equal(server.requests.length, 2);
      assert.equal(server.requests[1]!.query.resourceVersion, "20");
      server.requests[1]!.send("ADDED", obj("b", "21"));
      assert.deepEqual(await take(watch, 2), ["ADDED a@11", "ADDED b@21"]);
    });
  }

  it("waits before renewing a request that ended at once without any event", async () => {
    const { server, clock } = start();
    await settle();
    server.requests[0]!.end(null);
    await settle();
    assert.equal(server.requests.length, 1, "not renewed in a busy loop");
    await clock.advance(1000);
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[1]!.query.resourceVersion, "10");
  });

  it("ignores what an ended request still delivers", async () => {
    const { watch, server } = start();
    await settle();
    const first = server.requests[0]!;
    first.send("ADDED", obj("a", "11"));
    first.end(null);
    await settle();
    first.send("ADDED", obj("late", "12"));
    server.requests[1]!.send("ADDED", obj("b", "12"));
    assert.deepEqual(await take(watch, 2), ["ADDED a@11", "ADDED b@12"]);
  });

  it("ends with OUT_OF_RANGE on an ERROR event with 410 Gone", async () => {
    const { watch, server } = start();
    await settle();
    server.requests[0]!.send("ERROR", { kind: "Status", code: 410, reason: "Expired", message: "too old" });
    const err = await failure(watch);
    assert.ok(isFsbError(err, ErrorCode.OutOfRange), String(err));
    assert.equal((await watch.stream.next()).done, true);
    assert.equal(server.requests[0]!.aborted, true);
  });

  it("ends with OUT_OF_RANGE when the watch request itself answers 410", async () => {
    const { watch, server } = start();
    await settle();
    server.requests[0]!.end(Object.assign(new Error("Gone"), { statusCode: 410 }));
    assert.ok(isFsbError(await failure(watch), ErrorCode.OutOfRange));
  });

  it("retries from the same version while the server's cache is behind it", async () => {
    const { watch, server, clock } = start();
    await settle();
    const tooLarge = { kind: "Status", code: 504, reason: "Timeout", message: "Too large resource version" };
    server.requests[0]!.send("ERROR", tooLarge);
    await clock.advance(500);
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[1]!.query.resourceVersion, "10");
    server.requests[1]!.send("ADDED", obj("a", "11"));
    assert.deepEqual(await take(watch, 1), ["ADDED a@11"]);
  });

  it("maps a request that cannot be opened (network) to UNAVAILABLE", async () => {
    const open: WatchOpener = () =>
      Promise.reject(
        new TypeError("fetch failed", { cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }) }),
      );
    const { watch } = start({ open });
    assert.ok(isFsbError(await failure(watch), ErrorCode.Unavailable));
  });

  it("ends normally when the signal aborts, also while the consumer waits, and aborts the request", async () => {
    const { watch, server, abort } = start();
    await settle();
    const waiting = watch.stream.next();
    abort.abort();
    assert.equal((await waiting).done, true);
    assert.equal(server.requests[0]!.aborted, true);
    assert.equal(server.requests.length, 1);
  });

  it("yields nothing and opens nothing when the signal has already aborted", async () => {
    const { watch, server } = start({ signal: AbortSignal.abort() });
    await settle();
    assert.equal((await watch.stream.next()).done, true);
    assert.equal(server.requests.length, 0);
  });

  it("ends with OUT_OF_RANGE when the consumer falls too far behind", async () => {
    const { watch, server } = start({ bufferLimit: 2 });
    await settle();
    for (let i = 0; i < 4; i++) server.requests[0]!.send("ADDED", obj(`o${i}`, String(11 + i)));
    assert.ok(isFsbError(await failure(watch), ErrorCode.OutOfRange));
  });

  it("ends with the given error on fail() (a closed store) and calls onClose once", async () => {
    let closes = 0;
    const { watch, server } = start({ onClose: () => closes++ });
    await settle();
    watch.fail(new Error("closed"));
    await assert.rejects(watch.stream.next(), /closed/);
    assert.equal(server.requests[0]!.aborted, true);
    assert.equal(closes, 1);
  });

  it("fails with INTERNAL on an event without a resourceVersion", async () => {
    const { watch, server } = start();
    await settle();
    server.requests[0]!.send("ADDED", { metadata: { name: "a" } });
    assert.ok(isFsbError(await failure(watch), ErrorCode.Internal));
  });
});

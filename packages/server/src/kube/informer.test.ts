// The informer against a real SQLite store: sync, live changes, filters, and recovery by re-listing.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ErrorCode, FsbError, type StoredObject } from "@fast-sandbox/api";
import { ManualClock } from "../core/manual-clock.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { SqliteStore, type SqliteStoreOptions } from "../store/sqlite-store.ts";
import { sandbox, type TestSpec, type TestStatus } from "../store/watch-recorder.ts";
import { Informer, type InformerOptions } from "./informer.ts";
import type { WatchOptions } from "./list-watch.ts";

type Obj = StoredObject<TestSpec, TestStatus>;

const root = await mkdtemp(path.join(os.tmpdir(), "fsb-informer-"));
after(() => rm(root, { recursive: true, force: true }));
let dirs = 0;

async function withStore(options: Partial<SqliteStoreOptions>, body: (store: SqliteStore) => Promise<void>) {
  const store = new SqliteStore({ dir: path.join(root, `store-${++dirs}`), ...options });
  try {
    await body(store);
  } finally {
    await store.close();
  }
}

/** Lets callbacks run until `check` holds; store and informer only use promises here, never timers. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 5000 && !check(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(check(), `gave up waiting for ${what}`);
}

/** Starts an informer that records handler calls as `add ns/name`, `update ns/name`, `delete ns/name`. */
function start(store: ObjectStore, options: Partial<InformerOptions> = {}) {
  const warnings: string[] = [];
  const informer = new Informer<TestSpec, TestStatus>(store, {
    kind: "Sandbox",
    logger: { warn: (_fields, message) => warnings.push(message) },
    ...options,
  });
  const calls: string[] = [];
  const updates: Array<[Obj, Obj]> = [];
  const id = (o: Obj): string => `${o.metadata.namespace}/${o.metadata.name}`;
  informer.addHandlers({
    onAdd: (o) => calls.push(`add ${id(o)}`),
    onUpdate: (a, b) => {
      calls.push(`update ${id(b)}`);
      updates.push([a, b]);
    },
    onDelete: (o) => calls.push(`delete ${id(o)}`),
  });
  const abort = new AbortController();
  const running = informer.run(abort.signal);
  const stop = async (): Promise<void> => {
    abort.abort();
    await running;
  };
  return { informer, calls, updates, warnings, stop };
}

const caughtUp = (informer: Informer<TestSpec, TestStatus>, obj: Obj) => () =>
  BigInt(informer.resourceVersion || "0") >= BigInt(obj.metadata.resourceVersion);

describe("Informer", () => {
  it("syncs existing objects, then follows live changes", async () => {
    await withStore({}, async (store) => {
      const a = await store.create(sandbox("ns-a", "a"));
      await store.create(sandbox("ns-a", "b"));
      const c = await store.create(sandbox("ns-b", "c"));
      const { informer, calls, updates, stop } = start(store);
      assert.equal(informer.hasSynced(), false);
      assert.equal(await informer.waitForSync(), true);
      assert.deepEqual(calls, ["add ns-a/a", "add ns-a/b", "add ns-b/c"]);
      assert.deepEqual(informer.get("ns-a", "a"), a);
      assert.deepEqual(informer.list("ns-b"), [c]);
      assert.equal(informer.get("ns-a", "missing"), undefined);

      await store.updateStatus({ ...a, status: { phase: "Running" } });
      await store.delete("Sandbox", "ns-a", "b");
      const d = await store.create(sandbox("ns-a", "d"));
      await until(caughtUp(informer, d), "the informer to see d");
      assert.deepEqual(calls.slice(3), ["update ns-a/a", "delete ns-a/b", "add ns-a/d"]);
      assert.deepEqual(updates[0]![0].status, {});
      assert.deepEqual(updates[0]![1].status, { phase: "Running" });
      assert.deepEqual(
        informer
          .list()
          .map((o) => o.metadata.name)
          .sort(),
        ["a", "c", "d"],
      );

      const cached = informer.get("ns-a", "a")!;
      assert.throws(() => {
        cached.status.phase = "Mutated";
      }, TypeError);

      const late: string[] = [];
      informer.addHandlers({ onAdd: (o) => late.push(o.metadata.name) });
      assert.deepEqual(late.sort(), ["a", "c", "d"], "late handlers get the cache as adds");
      await stop();
    });
  });

  it("caches only its namespace and selector, dropping objects whose labels stop matching", async () => {
    await withStore({}, async (store) => {
      const web = await store.create(sandbox("ns-a", "web", { labels: { app: "web" } }));
      await store.create(sandbox("ns-a", "db", { labels: { app: "db" } }));
      await store.create(sandbox("ns-b", "web", { labels: { app: "web" } }));
      const { informer, calls, stop } = start(store, { namespace: "ns-a", labelSelector: "app=web" });
      await informer.waitForSync();
      assert.deepEqual(calls, ["add ns-a/web"]);
      const moved = await store.update({ ...web, metadata: { ...web.metadata, labels: { app: "db" } } });
      await until(caughtUp(informer, moved), "the label change");
      assert.deepEqual(calls, ["add ns-a/web", "delete ns-a/web"]);
      assert.deepEqual(informer.list(), []);
      await stop();
    });
  });

  it("recovers from a watch cut off with OUT_OF_RANGE by re-listing, reporting each change once", async () => {
    await withStore({ watchBufferLimit: 3 }, async (store) => {
      await store.create(sandbox("ns-a", "x"));
      const y = await store.create(sandbox("ns-a", "y"));
      const { informer, calls, warnings, stop } = start(store);
      await informer.waitForSync();
      // One synchronous burst: the informer cannot keep up with it, so its watch overflows.
      const writes = await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => store.create(sandbox("ns-a", `n${i}`))),
        store.delete("Sandbox", "ns-a", "x"),
        store.update({ ...y, metadata: { ...y.metadata, labels: { touched: "yes" } } }),
      ]);
      await until(caughtUp(informer, writes[writes.length - 1] as Obj), "the informer to re-list");
      assert.ok(
        warnings.some((w) => /expired/.test(w)),
        `warnings: ${warnings.join("; ")}`,
      );
      const { items } = await store.list<TestSpec, TestStatus>("Sandbox");
      assert.deepEqual(
        informer.list().sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)),
        items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)),
      );
      const later = calls.slice(2).sort();
      const want = [
        ...Array.from({ length: 20 }, (_, i) => `add ns-a/n${i}`),
        "delete ns-a/x",
        "update ns-a/y",
      ].sort();
      assert.deepEqual(later, want);
      // And it keeps following live changes afterwards.
      const z = await store.create(sandbox("ns-a", "z"));
      await until(caughtUp(informer, z), "z");
      assert.equal(calls[calls.length - 1], "add ns-a/z");
      await stop();
    });
  });

  it("retries a failing list with growing backoff", async () => {
    await withStore({}, async (store) => {
      await store.create(sandbox("ns-a", "a"));
      const clock = new ManualClock();
      const listedAt: number[] = [];
      let failures = 2;
      const flaky: ObjectStore = {
        ...delegate(store),
        list: async (kind, options) => {
          listedAt.push(clock.now());
          if (failures-- > 0) throw new FsbError(ErrorCode.Unavailable, "down");
          return store.list(kind, options);
        },
      };
      const t0 = clock.now();
      const { informer, calls, warnings, stop } = start(flaky, { clock, minBackoffMs: 200 });
      await clock.advance(0);
      assert.equal(informer.hasSynced(), false);
      await clock.advance(199);
      assert.equal(listedAt.length, 1);
      await clock.advance(1);
      assert.equal(listedAt.length, 2);
      await clock.advance(400);
      assert.deepEqual(
        listedAt.map((t) => t - t0),
        [0, 200, 600],
      );
      assert.equal(await informer.waitForSync(), true);
      assert.deepEqual(calls, ["add ns-a/a"]);
      assert.equal(warnings.length, 2);
      await stop();
    });
  });

  it("continues from the last version when a watch ends without an error, without re-listing", async () => {
    await withStore({}, async (store) => {
      let lists = 0;
      let watches = 0;
      const shortWatches: ObjectStore = {
        ...delegate(store),
        list: (kind, options) => {
          lists++;
          return store.list(kind, options);
        },
        // Like a server-side watch timeout: each watch ends after one event.
        watch<Spec, Status>(kind: string, options: WatchOptions, signal: AbortSignal) {
          watches++;
          return (async function* () {
            for await (const event of store.watch<Spec, Status>(kind, options, signal)) {
              yield event;
              return;
            }
          })();
        },
      };
      const { informer, calls, stop } = start(shortWatches);
      await informer.waitForSync();
      const objs = [];
      for (let i = 0; i < 3; i++) objs.push(await store.create(sandbox("ns-a", `o${i}`)));
      await until(caughtUp(informer, objs[2]!), "all three");
      assert.deepEqual(calls, ["add ns-a/o0", "add ns-a/o1", "add ns-a/o2"]);
      assert.equal(lists, 1);
      assert.ok(watches >= 3, `watches: ${watches}`);
      await stop();
    });
  });

  it("waitForSync resolves false when its signal aborts first, and run ends on abort", async () => {
    await withStore({}, async (store) => {
      const informer = new Informer(store, { kind: "Sandbox" });
      const abort = new AbortController();
      const waiting = informer.waitForSync(abort.signal);
      abort.abort();
      assert.equal(await waiting, false);
      await informer.run(abort.signal);
      assert.equal(informer.hasSynced(), false);
    });
  });
});

/** An ObjectStore that forwards every call to `store`, for tests that override one method. */
function delegate(store: ObjectStore): ObjectStore {
  return {
    create: (obj) => store.create(obj),
    get: (kind, namespace, name) => store.get(kind, namespace, name),
    list: (kind, options) => store.list(kind, options),
    update: (obj) => store.update(obj),
    updateStatus: (obj) => store.updateStatus(obj),
    delete: (kind, namespace, name, options) => store.delete(kind, namespace, name, options),
    watch: (kind, options, signal) => store.watch(kind, options, signal),
    close: () => store.close(),
  };
}

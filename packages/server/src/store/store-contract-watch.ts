/** The watch half of the ObjectStore contract: order, no gaps or duplicates, replay, expiry, filters, abort. */
import assert from "node:assert/strict";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import type { ObjectStore } from "./object-store.ts";
import { type MakeStore, rejectsWith, type StoreFixture, storeTest } from "./store-fixture.ts";
import {
  retryOnConflict,
  sandbox,
  type TestObject,
  type TestSpec,
  type TestStatus,
  WatchRecorder,
} from "./watch-recorder.ts";

const rv = (obj: { metadata: { resourceVersion: string } }): bigint => BigInt(obj.metadata.resourceVersion);

async function withWatch(
  store: ObjectStore,
  options: { resourceVersion: string; namespace?: string; labelSelector?: string },
  body: (watch: WatchRecorder) => Promise<void>,
): Promise<void> {
  const watch = new WatchRecorder(store, "Sandbox", options);
  try {
    await body(watch);
  } finally {
    await watch.stop();
  }
}

/** The watch cases, group by group. */
export function registerWatchContract(makeStore: MakeStore): void {
  registerWatchOrder(makeStore);
  registerWatchHistory(makeStore);
  registerWatchFilters(makeStore);
  registerWatchEnd(makeStore);
}

/** Watches see later changes only, in version order, without gaps or duplicates. */
function registerWatchOrder(makeStore: MakeStore): void {
  storeTest(makeStore, "a watch from a list's version sees only later changes", async (store) => {
    await store.create(sandbox("ns-a", "before"));
    const { resourceVersion } = await store.list("Sandbox");
    await withWatch(store, { resourceVersion }, async (watch) => {
      const after = await store.create(sandbox("ns-a", "after"));
      await watch.waitForVersion(after);
      assert.deepEqual(watch.describe(), ["ADDED after"]);
      assert.deepEqual(watch.events[0]!.object, after);
    });
  });

  storeTest(
    makeStore,
    "a burst of concurrent writes arrives in order, without gaps or duplicates",
    burstArrivesInOrder,
  );
}

/** 30 objects, each created, updated thrice concurrently and every third deleted, beside writes of another kind. */
async function burstArrivesInOrder(store: ObjectStore, fixture: StoreFixture): Promise<void> {
  const removalVersions = fixture.removalReturnsItsVersion !== false;
  const { resourceVersion } = await store.list("Sandbox");
  await withWatch(store, { resourceVersion }, async (watch) => {
    const written: TestObject[] = [];
    const record = async (write: Promise<TestObject>): Promise<TestObject> => {
      const obj = await write;
      written.push(obj);
      return obj;
    };
    const count = 30;
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const name = `obj-${i}`;
        // Writes of another kind interleave, so this kind's versions are not contiguous.
        const pool = store.create({ ...sandbox("ns-a", name), kind: "SandboxPool" });
        await record(store.create(sandbox("ns-a", name)));
        await Promise.all(
          [1, 2, 3].map((n) =>
            retryOnConflict(async () => {
              const current = await store.get<TestSpec, TestStatus>("Sandbox", "ns-a", name);
              return record(store.updateStatus({ ...current, status: { ...current.status, [`w${n}`]: n } }));
            }),
          ),
        );
        if (i % 3 === 0) {
          const deleted = store.delete<TestSpec, TestStatus>("Sandbox", "ns-a", name);
          await (removalVersions ? record(deleted) : deleted);
        }
        await pool;
      }),
    );
    const versions = written.map(rv).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    assert.equal(new Set(versions).size, versions.length, "every write has its own version");
    const last = versions[versions.length - 1]!;
    if (removalVersions) {
      await watch.waitFor((events) => events.some((e) => rv(e.object) === last));
      assert.deepEqual(
        watch.events.map((e) => rv(e.object)),
        versions,
      );
    } else {
      // Deletes' versions are known only from their events: match the other writes exactly, and
      // check that every event (deletes too) comes in version order.
      const deletes = Math.ceil(count / 3);
      await watch.waitFor(
        (events) =>
          events.some((e) => rv(e.object) === last) &&
          events.filter((e) => e.type === "DELETED").length === deletes,
      );
      assert.deepEqual(
        watch.events.filter((e) => e.type !== "DELETED").map((e) => rv(e.object)),
        versions,
      );
      const all = watch.events.map((e) => rv(e.object));
      assert.ok(
        all.every((v, i) => i === 0 || all[i - 1]! < v),
        `versions in order: ${all.join(", ")}`,
      );
    }
    for (let i = 0; i < count; i++) {
      const types = watch.events.filter((e) => e.object.metadata.name === `obj-${i}`).map((e) => e.type);
      const want = ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED", ...(i % 3 === 0 ? ["DELETED"] : [])];
      assert.deepEqual(types, want, `obj-${i}`);
    }
  });
}

/** Watches from an old version replay what followed it, or fail with OUT_OF_RANGE once it expired. */
function registerWatchHistory(makeStore: MakeStore): void {
  storeTest(
    makeStore,
    "a watch from an old version replays history, then continues live",
    async (store, fixture) => {
      const removalVersions = fixture.removalReturnsItsVersion !== false;
      const a = await store.create(sandbox("ns-a", "a"));
      const b = await store.create(sandbox("ns-a", "b"));
      const running = await store.updateStatus({ ...a, status: { phase: "Running" } });
      const deleted = await store.delete("Sandbox", "ns-a", "b");
      await withWatch(store, { resourceVersion: a.metadata.resourceVersion }, async (watch) => {
        // Without removal versions the delete's answer carries b's last stored version, the one of
        // its ADDED event, so only the DELETED event itself tells that the history is complete.
        if (removalVersions) await watch.waitForVersion(deleted);
        else await watch.waitFor((events) => events.some((e) => e.type === "DELETED"));
        assert.deepEqual(watch.describe(), ["ADDED b", "MODIFIED a", "DELETED b"]);
        assert.deepEqual(watch.events[0]!.object, b, "each event carries the object as of its version");
        assert.deepEqual(watch.events[1]!.object, running, "each event carries the object as of its version");
        const removal = watch.events[2]!.object;
        assert.equal(removal.metadata.uid, b.metadata.uid);
        if (removalVersions) assert.equal(removal.metadata.resourceVersion, deleted.metadata.resourceVersion);
        else assert.ok(rv(removal) > rv(running), "the removal has a version of its own, after the update");
        const c = await store.create(sandbox("ns-a", "c"));
        await watch.waitForVersion(c);
        assert.deepEqual(watch.describe(), ["ADDED b", "MODIFIED a", "DELETED b", "ADDED c"]);
      });
    },
  );

  storeTest(
    makeStore,
    "a watch from an expired version fails with OUT_OF_RANGE",
    async (store, fixture, t) => {
      if (fixture.expireHistory === undefined) {
        t.skip("this backend cannot expire its history on demand");
        return;
      }
      const a = await store.create(sandbox("ns-a", "a"));
      await store.create(sandbox("ns-a", "b"));
      await fixture.expireHistory();
      const expired = new WatchRecorder(store, "Sandbox", { resourceVersion: a.metadata.resourceVersion });
      await expired.waitForEnd();
      assert.ok(isFsbError(expired.error, ErrorCode.OutOfRange), String(expired.error));
      // The caller's recovery: re-list and watch from the new list's version.
      const { items, resourceVersion } = await store.list("Sandbox");
      assert.equal(items.length, 2);
      await withWatch(store, { resourceVersion }, async (watch) => {
        const c = await store.create(sandbox("ns-a", "c"));
        await watch.waitForVersion(c);
        assert.deepEqual(watch.describe(), ["ADDED c"]);
      });
    },
  );
}

/** Namespace and label-selector watches. */
function registerWatchFilters(makeStore: MakeStore): void {
  storeTest(makeStore, "a namespace watch sees only its namespace and kind", async (store) => {
    const { resourceVersion } = await store.list("Sandbox");
    await withWatch(store, { resourceVersion, namespace: "ns-a" }, async (watch) => {
      const other = await store.create(sandbox("ns-b", "x"));
      await store.create(sandbox("ns-a", "y"));
      await store.create({ ...sandbox("ns-a", "pool"), kind: "SandboxPool" });
      await store.updateStatus({ ...other, status: { phase: "Running" } });
      const marker = await store.create(sandbox("ns-a", "marker"));
      await watch.waitForVersion(marker);
      assert.deepEqual(watch.describe(), ["ADDED y", "ADDED marker"]);
    });
  });

  storeTest(
    makeStore,
    "a selector watch sees objects start and stop matching, live and replayed",
    async (store) => {
      const { resourceVersion } = await store.list("Sandbox");
      const want = [
        "ADDED web",
        "ADDED other",
        "MODIFIED web",
        "DELETED web",
        "DELETED other",
        "ADDED marker",
      ];
      const options = { resourceVersion, labelSelector: "app=web" };
      await withWatch(store, options, async (live) => {
        const web = await store.create(sandbox("ns-a", "web", { labels: { app: "web" } }));
        const other = await store.create(sandbox("ns-a", "other", { labels: { app: "db" } }));
        await store.update({ ...other, metadata: { ...other.metadata, labels: { app: "web" } } });
        const running = await store.updateStatus({ ...web, status: { phase: "Running" } });
        await store.update({ ...running, metadata: { ...running.metadata, labels: { app: "db" } } });
        await store.delete("Sandbox", "ns-a", "other");
        const marker = await store.create(sandbox("ns-a", "marker", { labels: { app: "web" } }));
        await live.waitForVersion(marker);
        assert.deepEqual(live.describe(), want);
        await withWatch(store, options, async (replayed) => {
          await replayed.waitForVersion(marker);
          assert.deepEqual(replayed.describe(), want);
        });
      });
    },
  );
}

/** How a watch ends: an aborted signal, a malformed version. */
function registerWatchEnd(makeStore: MakeStore): void {
  storeTest(makeStore, "aborting the signal ends the watch, also while it waits", async (store) => {
    const { resourceVersion } = await store.list("Sandbox");
    const abort = new AbortController();
    const iterator = store.watch("Sandbox", { resourceVersion }, abort.signal)[Symbol.asyncIterator]();
    const first = await store.create(sandbox("ns-a", "first"));
    const got = await iterator.next();
    assert.equal(got.done, false);
    assert.equal(got.value?.object.metadata.resourceVersion, first.metadata.resourceVersion);
    const waiting = iterator.next();
    abort.abort();
    assert.equal((await waiting).done, true);
    await store.create(sandbox("ns-a", "after-abort"));
    assert.equal((await iterator.next()).done, true);

    let seen = 0;
    for await (const _ of store.watch("Sandbox", { resourceVersion }, AbortSignal.abort())) seen++;
    assert.equal(seen, 0, "an already-aborted watch yields nothing");
  });

  storeTest(makeStore, "a watch from a malformed version fails with INVALID_ARGUMENT", async (store) => {
    const iterator = store.watch("Sandbox", { resourceVersion: "abc" }, new AbortController().signal);
    await rejectsWith(iterator[Symbol.asyncIterator]().next(), ErrorCode.InvalidArgument);
  });
}

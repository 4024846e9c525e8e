/** The ObjectStore contract suite: every backend (SQLite, Kubernetes) must pass the same tests. */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { ErrorCode, type NewObject } from "@fast-sandbox/api";
import { registerWatchContract } from "./store-contract-watch.ts";
import { type MakeStore, rejectsWith, storeTest } from "./store-fixture.ts";
import { sandbox, type TestObject, type TestSpec, type TestStatus, WatchRecorder } from "./watch-recorder.ts";

/** Deeply freezes `value`, as an informer's cached objects are. */
function freeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) freeze(child);
    Object.freeze(value);
  }
  return value;
}

const rvOf = (obj: { metadata: { resourceVersion: string } }): bigint => BigInt(obj.metadata.resourceVersion);

export type { MakeStore, StoreFixture } from "./store-fixture.ts";

/** Registers the whole contract for one backend. */
export function runStoreContract(name: string, makeStore: MakeStore): void {
  describe(`ObjectStore contract: ${name}`, () => {
    describe("create, get and list", () => {
      registerCreates(makeStore);
      registerLists(makeStore);
    });
    describe("update and updateStatus", () => {
      registerConflicts(makeStore);
      registerUpdateEdits(makeStore);
      registerStatusUpdates(makeStore);
    });
    describe("delete and finalizers", () => {
      registerPlainDeletes(makeStore);
      registerFinalizers(makeStore);
    });
    describe("watch", () => registerWatchContract(makeStore));
  });
}

/** create and get: store-owned metadata, taken names, bad input, versions. */
function registerCreates(makeStore: MakeStore): void {
  storeTest(makeStore, "create fills in store-owned metadata and defaults", async (store) => {
    const created = await store.create(sandbox("ns-a", "one", { labels: { app: "web" } }));
    const meta = created.metadata;
    assert.match(meta.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(meta.resourceVersion, /^[0-9]+$/);
    assert.equal(meta.generation, 1);
    assert.ok(!Number.isNaN(Date.parse(meta.creationTimestamp)), meta.creationTimestamp);
    assert.equal(meta.deletionTimestamp, undefined);
    assert.deepEqual([meta.labels, meta.annotations, meta.finalizers], [{ app: "web" }, {}, []]);
    assert.deepEqual(created.spec, { image: "busybox:1" });
    assert.deepEqual(created.status, {});
    assert.deepEqual(await store.get("Sandbox", "ns-a", "one"), created);
  });

  storeTest(makeStore, "create refuses a taken name; namespaces and kinds are separate", async (store) => {
    await store.create(sandbox("ns-a", "one"));
    await rejectsWith(store.create(sandbox("ns-a", "one")), ErrorCode.AlreadyExists);
    await store.create(sandbox("ns-b", "one"));
    await store.create({ ...sandbox("ns-a", "one"), kind: "SandboxPool" });
    const pools = await store.list("SandboxPool");
    assert.deepEqual(
      pools.items.map((o) => o.metadata.name),
      ["one"],
    );
  });

  const badInputs: Array<[string, NewObject<TestSpec, TestStatus>]> = [
    ["a name with capitals", sandbox("ns-a", "Bad_Name")],
    ["an empty name", sandbox("ns-a", "")],
    ["an empty namespace", sandbox("", "one")],
    ["an invalid label key", sandbox("ns-a", "one", { labels: { "-bad": "x" } })],
    ["a non-string label value", sandbox("ns-a", "one", { labels: { app: 7 as unknown as string } })],
  ];
  for (const [what, obj] of badInputs) {
    storeTest(makeStore, `create rejects ${what} with INVALID_ARGUMENT`, async (store) => {
      await rejectsWith(store.create(obj), ErrorCode.InvalidArgument);
    });
  }

  storeTest(makeStore, "get of a missing object is NOT_FOUND", async (store) => {
    await rejectsWith(store.get("Sandbox", "ns-a", "missing"), ErrorCode.NotFound);
  });

  storeTest(makeStore, "a recreated object gets a new uid", async (store) => {
    const first = await store.create(sandbox("ns-a", "one"));
    await store.delete("Sandbox", "ns-a", "one");
    const second = await store.create(sandbox("ns-a", "one"));
    assert.notEqual(second.metadata.uid, first.metadata.uid);
  });

  storeTest(makeStore, "resourceVersions grow with every write, across kinds", async (store) => {
    const a = await store.create(sandbox("ns-a", "one"));
    const b = await store.create({ ...sandbox("ns-a", "pool"), kind: "SandboxPool" });
    const c = await store.updateStatus({ ...a, status: { phase: "Running" } });
    assert.ok(rvOf(a) < rvOf(b) && rvOf(b) < rvOf(c), `${rvOf(a)} < ${rvOf(b)} < ${rvOf(c)}`);
    const listed = await store.list("Sandbox");
    assert.ok(BigInt(listed.resourceVersion) >= rvOf(c));
  });
}

/** list by namespace and label selector. */
function registerLists(makeStore: MakeStore): void {
  const selectorCases: Array<{ namespace?: string; labelSelector?: string; want: string[] }> = [
    { want: ["ns-a/api", "ns-a/web", "ns-b/db", "ns-b/web"] },
    { namespace: "ns-b", want: ["ns-b/db", "ns-b/web"] },
    { namespace: "ns-c", want: [] },
    { labelSelector: "app=web", want: ["ns-a/web", "ns-b/web"] },
    { labelSelector: "app!=web", want: ["ns-a/api", "ns-b/db"] },
    { labelSelector: "tier", want: ["ns-a/api", "ns-a/web"] },
    { labelSelector: "!tier", want: ["ns-b/db", "ns-b/web"] },
    { labelSelector: "app in (db,api)", want: ["ns-a/api", "ns-b/db"] },
    { labelSelector: "app notin (db,api)", want: ["ns-a/web", "ns-b/web"] },
    { namespace: "ns-a", labelSelector: "app=web,tier=front", want: ["ns-a/web"] },
  ];
  for (const { namespace, labelSelector, want } of selectorCases) {
    storeTest(makeStore, `list ${JSON.stringify({ namespace, labelSelector })}`, async (store) => {
      await store.create(sandbox("ns-a", "web", { labels: { app: "web", tier: "front" } }));
      await store.create(sandbox("ns-a", "api", { labels: { app: "api", tier: "back" } }));
      await store.create(sandbox("ns-b", "web", { labels: { app: "web" } }));
      await store.create(sandbox("ns-b", "db", { labels: { app: "db" } }));
      const got = await store.list<TestSpec, TestStatus>("Sandbox", { namespace, labelSelector });
      const names = got.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
      assert.deepEqual(names, want);
    });
  }

  storeTest(makeStore, "list rejects a malformed selector with INVALID_ARGUMENT", async (store) => {
    await rejectsWith(store.list("Sandbox", { labelSelector: "app in web" }), ErrorCode.InvalidArgument);
  });
}

/** Conflicting and missing updates. */
function registerConflicts(makeStore: MakeStore): void {
  storeTest(
    makeStore,
    "update with a stale resourceVersion is ABORTED; a re-read then succeeds",
    async (store) => {
      const v1 = await store.create(sandbox("ns-a", "one"));
      await store.update({ ...v1, metadata: { ...v1.metadata, labels: { step: "2" } } });
      const stale = { ...v1, metadata: { ...v1.metadata, labels: { step: "stale" } } };
      await rejectsWith(store.update(stale), ErrorCode.Aborted, /conflict/);
      await rejectsWith(store.updateStatus({ ...v1, status: { phase: "Running" } }), ErrorCode.Aborted);
      const fresh = await store.get<TestSpec, TestStatus>("Sandbox", "ns-a", "one");
      const v3 = await store.update({ ...fresh, metadata: { ...fresh.metadata, labels: { step: "3" } } });
      assert.deepEqual(v3.metadata.labels, { step: "3" });
    },
  );

  storeTest(makeStore, "update of a missing object is NOT_FOUND", async (store) => {
    const obj = await store.create(sandbox("ns-a", "one"));
    await store.delete("Sandbox", "ns-a", "one");
    await rejectsWith(store.update(obj), ErrorCode.NotFound);
    await rejectsWith(store.updateStatus(obj), ErrorCode.NotFound);
  });
}

type Edit = (o: TestObject) => TestObject;

/** Edits an update is given, and the generation and version change each must give. */
const UPDATE_EDITS: Array<{ what: string; edit: Edit; generation: number; newVersion: boolean }> = [
  {
    what: "a spec change",
    edit: (o) => ({ ...o, spec: { image: "busybox:2" } }),
    generation: 2,
    newVersion: true,
  },
  {
    what: "a label change",
    edit: (o) => ({ ...o, metadata: { ...o.metadata, labels: { app: "x" } } }),
    generation: 1,
    newVersion: true,
  },
  {
    what: "an annotation change",
    edit: (o) => ({ ...o, metadata: { ...o.metadata, annotations: { note: "hi" } } }),
    generation: 1,
    newVersion: true,
  },
  {
    what: "a status change (ignored by update)",
    edit: (o) => ({ ...o, status: { phase: "Running" } }),
    generation: 1,
    newVersion: false,
  },
  {
    what: "store-owned metadata changes (ignored)",
    edit: (o) => ({
      ...o,
      metadata: {
        ...o.metadata,
        uid: "00000000-0000-0000-0000-000000000000",
        generation: 42,
        creationTimestamp: "2000-01-01T00:00:00Z",
        deletionTimestamp: "2000-01-01T00:00:00Z",
      },
    }),
    generation: 1,
    newVersion: false,
  },
];

/** What update writes, and what it leaves alone. */
function registerUpdateEdits(makeStore: MakeStore): void {
  for (const { what, edit, generation, newVersion } of UPDATE_EDITS) {
    storeTest(makeStore, `update with ${what}: generation ${generation}`, async (store) => {
      const before = await store.create(sandbox("ns-a", "one"));
      const after = await store.update(edit(before));
      assert.equal(after.metadata.generation, generation);
      assert.equal(after.metadata.resourceVersion !== before.metadata.resourceVersion, newVersion);
      assert.equal(after.metadata.uid, before.metadata.uid);
      assert.equal(after.metadata.creationTimestamp, before.metadata.creationTimestamp);
      assert.equal(after.metadata.deletionTimestamp, undefined);
      assert.deepEqual(after.status, {});
      assert.deepEqual(await store.get("Sandbox", "ns-a", "one"), after);
    });
  }

  storeTest(
    makeStore,
    "an update that changes nothing keeps the version and emits no event",
    async (store) => {
      const obj = await store.create(sandbox("ns-a", "one"));
      const watch = new WatchRecorder(store, "Sandbox", { resourceVersion: obj.metadata.resourceVersion });
      try {
        assert.equal((await store.update(obj)).metadata.resourceVersion, obj.metadata.resourceVersion);
        assert.equal((await store.updateStatus(obj)).metadata.resourceVersion, obj.metadata.resourceVersion);
        const marker = await store.create(sandbox("ns-a", "marker"));
        await watch.waitForVersion(marker);
        assert.deepEqual(watch.describe(), ["ADDED marker"]);
      } finally {
        await watch.stop();
      }
    },
  );

  storeTest(makeStore, "writes never modify their arguments (frozen objects are fine)", async (store) => {
    const created = await store.create(freeze(sandbox("ns-a", "one", { labels: { app: "web" } })));
    const updated = await store.update(freeze({ ...created, spec: { image: "busybox:2" } }));
    const status = await store.updateStatus(freeze({ ...updated, status: { phase: "Running" } }));
    assert.equal(status.metadata.generation, 2);
  });
}

/** updateStatus writes only status. */
function registerStatusUpdates(makeStore: MakeStore): void {
  storeTest(makeStore, "updateStatus writes only status and never bumps generation", async (store) => {
    const obj = await store.create(sandbox("ns-a", "one", { labels: { app: "web" } }));
    const written = await store.updateStatus({
      ...obj,
      metadata: { ...obj.metadata, labels: { app: "ignored" }, finalizers: ["example.com/ignored"] },
      spec: { image: "ignored:1" },
      status: { phase: "Running", count: 1 },
    });
    assert.deepEqual(written.status, { phase: "Running", count: 1 });
    assert.deepEqual(written.spec, { image: "busybox:1" });
    assert.deepEqual(written.metadata.labels, { app: "web" });
    assert.deepEqual(written.metadata.finalizers, []);
    assert.equal(written.metadata.generation, 1);
    assert.ok(rvOf(written) > rvOf(obj));
    assert.deepEqual(await store.get("Sandbox", "ns-a", "one"), written);
    // And a later spec update keeps the status.
    const updated = await store.update({ ...written, spec: { image: "busybox:2" } });
    assert.deepEqual(updated.status, { phase: "Running", count: 1 });
    assert.equal(updated.metadata.generation, 2);
  });
}

/** delete without finalizers, and its version precondition. */
function registerPlainDeletes(makeStore: MakeStore): void {
  storeTest(makeStore, "delete without finalizers removes the object at once", async (store) => {
    const obj = await store.create(sandbox("ns-a", "one"));
    const deleted = await store.delete("Sandbox", "ns-a", "one");
    assert.equal(deleted.metadata.uid, obj.metadata.uid);
    await rejectsWith(store.get("Sandbox", "ns-a", "one"), ErrorCode.NotFound);
    await rejectsWith(store.delete("Sandbox", "ns-a", "one"), ErrorCode.NotFound);
    assert.deepEqual((await store.list("Sandbox")).items, []);
  });

  storeTest(makeStore, "delete with a stale resourceVersion precondition is ABORTED", async (store) => {
    const v1 = await store.create(sandbox("ns-a", "one"));
    const v2 = await store.updateStatus({ ...v1, status: { phase: "Running" } });
    await rejectsWith(
      store.delete("Sandbox", "ns-a", "one", { resourceVersion: v1.metadata.resourceVersion }),
      ErrorCode.Aborted,
    );
    await store.delete("Sandbox", "ns-a", "one", { resourceVersion: v2.metadata.resourceVersion });
    await rejectsWith(store.get("Sandbox", "ns-a", "one"), ErrorCode.NotFound);
  });
}

/** Finalizers hold a deleted object until the last goes. */
function registerFinalizers(makeStore: MakeStore): void {
  storeTest(
    makeStore,
    "finalizers hold a deleted object until the last one is removed",
    async (store, fixture) => {
      const removalVersions = fixture.removalReturnsItsVersion !== false;
      const finalizers = ["sandbox.fast.io/cleanup", "example.com/other"];
      const created = await store.create(sandbox("ns-a", "one", { finalizers }));
      const watch = new WatchRecorder(store, "Sandbox", {
        resourceVersion: created.metadata.resourceVersion,
      });
      try {
        const deleting = await store.delete<TestSpec, TestStatus>("Sandbox", "ns-a", "one");
        assert.ok(deleting.metadata.deletionTimestamp, "deletionTimestamp set");
        assert.ok(rvOf(deleting) > rvOf(created));
        assert.deepEqual(await store.get("Sandbox", "ns-a", "one"), deleting);
        assert.deepEqual(
          await store.delete("Sandbox", "ns-a", "one"),
          deleting,
          "a second delete is a no-op",
        );

        await rejectsWith(
          store.update({ ...deleting, spec: { image: "busybox:2" } }),
          ErrorCode.FailedPrecondition,
        );
        const added = {
          ...deleting,
          metadata: { ...deleting.metadata, finalizers: [...finalizers, "example.com/new"] },
        };
        await rejectsWith(store.update(added), ErrorCode.FailedPrecondition);

        const labelled = await store.update({
          ...deleting,
          metadata: { ...deleting.metadata, labels: { a: "b" } },
        });
        const withStatus = await store.updateStatus({ ...labelled, status: { phase: "Terminating" } });
        const fewer = await store.update({
          ...withStatus,
          metadata: { ...withStatus.metadata, finalizers: ["example.com/other"] },
        });
        assert.deepEqual(fewer.metadata.finalizers, ["example.com/other"]);
        assert.equal(fewer.metadata.deletionTimestamp, deleting.metadata.deletionTimestamp);

        const gone = await store.update({ ...fewer, metadata: { ...fewer.metadata, finalizers: [] } });
        assert.equal(gone.metadata.uid, created.metadata.uid);
        assert.ok(removalVersions ? rvOf(gone) > rvOf(fewer) : rvOf(gone) >= rvOf(fewer));
        await rejectsWith(store.get("Sandbox", "ns-a", "one"), ErrorCode.NotFound);

        if (removalVersions) await watch.waitForVersion(gone);
        else await watch.waitFor((events) => events.some((e) => e.type === "DELETED"));
        assert.deepEqual(
          watch.events.map((e) => e.type),
          ["MODIFIED", "MODIFIED", "MODIFIED", "MODIFIED", "DELETED"],
        );
        const versions = watch.events.map((e) => e.object.metadata.resourceVersion);
        const written = [deleting, labelled, withStatus, fewer, gone].map((o) => o.metadata.resourceVersion);
        if (removalVersions) {
          assert.deepEqual(versions, written);
        } else {
          assert.deepEqual(versions.slice(0, 4), written.slice(0, 4));
          assert.ok(BigInt(versions[4]!) > rvOf(fewer), "the removal has a version of its own");
        }
      } finally {
        await watch.stop();
      }
    },
  );
}

// The SQLite store: the shared ObjectStore contract, plus persistence, locking, trimming and corruption.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { readLockHolder } from "../core/lock-file.ts";
import { LastStateRemovalStore } from "./last-state-removal-store.ts";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite-store.ts";
import { runStoreContract } from "./store-contract.ts";
import { rejectsWith } from "./store-fixture.ts";
import { sandbox, WatchRecorder } from "./watch-recorder.ts";

const root = await mkdtemp(path.join(os.tmpdir(), "fsb-sqlite-store-"));
after(() => rm(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => path.join(root, `store-${++dirs}`);

const CONTRACT_MAX_EVENTS = 50;

runStoreContract("SqliteStore", async () => {
  const store = new SqliteStore({ dir: freshDir(), maxEvents: CONTRACT_MAX_EVENTS });
  return {
    store,
    cleanup: () => store.close(),
    // Writes of another kind push everything so far out of the retained window.
    expireHistory: async () => {
      for (let i = 0; i < CONTRACT_MAX_EVENTS * 2; i++) {
        await store.create({ ...sandbox("history-filler", `f-${i}`), kind: "SandboxPool" });
      }
    },
  };
});

// The contract's paths for a backend that answers removals with the last stored state, as the
// Kubernetes API server does, checked here without a cluster.
runStoreContract("SqliteStore answering removals as Kubernetes does", async () => {
  const store = new LastStateRemovalStore(new SqliteStore({ dir: freshDir() }));
  return { store, cleanup: () => store.close(), removalReturnsItsVersion: false };
});

function open(dir: string, options: Partial<SqliteStoreOptions> = {}): SqliteStore {
  return new SqliteStore({ dir, ...options });
}

describe("SqliteStore on disk", () => {
  it("keeps objects and the version counter across a restart", async () => {
    const dir = freshDir();
    const first = open(dir);
    const a = await first.create(sandbox("ns-a", "a", { finalizers: ["sandbox.fast.io/cleanup"] }));
    const b = await first.create(sandbox("ns-a", "b"));
    await first.delete("Sandbox", "ns-a", "b");
    const deleting = await first.delete("Sandbox", "ns-a", "a");
    const { resourceVersion } = await first.list("Sandbox");
    await first.close();

    const second = open(dir);
    try {
      assert.deepEqual(await second.get("Sandbox", "ns-a", "a"), deleting);
      await rejectsWith(second.get("Sandbox", "ns-a", "b"), ErrorCode.NotFound);
      assert.equal((await second.list("Sandbox")).resourceVersion, resourceVersion);
      const c = await second.create(sandbox("ns-a", "c"));
      assert.equal(BigInt(c.metadata.resourceVersion), BigInt(resourceVersion) + 1n);
      // History survives too: a watch from before the restart replays it.
      const watch = new WatchRecorder(second, "Sandbox", { resourceVersion: a.metadata.resourceVersion });
      await watch.waitForVersion(c);
      assert.deepEqual(watch.describe(), ["ADDED b", "DELETED b", "MODIFIED a", "ADDED c"]);
      await watch.stop();
      assert.notEqual(b.metadata.uid, c.metadata.uid);
    } finally {
      await second.close();
    }
  });

  it("refuses a data directory another live process holds, and takes over a stale lock", async () => {
    const dir = freshDir();
    const store = open(dir);
    assert.equal(readLockHolder(path.join(dir, "store.lock"))?.pid, process.pid);
    assert.throws(
      () => open(dir),
      (err) => isFsbError(err, ErrorCode.FailedPrecondition),
    );
    await store.close();

    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    try {
      await writeFile(path.join(dir, "store.lock"), `${child.pid}\n`);
      assert.throws(
        () => open(dir),
        (err) => isFsbError(err, ErrorCode.FailedPrecondition) && /live process/.test(err.message),
      );
    } finally {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    }
    // The child is dead now, so its lock is stale.
    const reopened = open(dir);
    assert.equal(readLockHolder(path.join(dir, "store.lock"))?.pid, process.pid);
    await reopened.close();
    await assert.rejects(readFile(path.join(dir, "store.lock")), { code: "ENOENT" });
  });

  it("trims old events: watches from before the window get OUT_OF_RANGE, recent ones replay", async () => {
    const store = open(freshDir(), { maxEvents: 10 });
    try {
      const first = await store.create(sandbox("ns-a", "obj-0"));
      const all = [first];
      for (let i = 1; i < 40; i++) all.push(await store.create(sandbox("ns-a", `obj-${i}`)));
      const expired = new WatchRecorder(store, "Sandbox", {
        resourceVersion: first.metadata.resourceVersion,
      });
      await expired.waitForEnd();
      assert.ok(isFsbError(expired.error, ErrorCode.OutOfRange), String(expired.error));

      const recentStart = all[all.length - 6]!;
      const recent = new WatchRecorder(store, "Sandbox", {
        resourceVersion: recentStart.metadata.resourceVersion,
      });
      await recent.waitForVersion(all[all.length - 1]!);
      assert.equal(recent.events.length, 5);
      await recent.stop();
    } finally {
      await store.close();
    }
  });

  it("ends a watch whose consumer falls too far behind with OUT_OF_RANGE, without blocking writes", async () => {
    const store = open(freshDir(), { watchBufferLimit: 5 });
    try {
      const { resourceVersion } = await store.list("Sandbox");
      const iterator = store
        .watch("Sandbox", { resourceVersion }, new AbortController().signal)
        [Symbol.asyncIterator]();
      for (let i = 0; i < 10; i++) await store.create(sandbox("ns-a", `obj-${i}`));
      await rejectsWith(iterator.next(), ErrorCode.OutOfRange, /behind/);
      assert.equal((await iterator.next()).done, true);
    } finally {
      await store.close();
    }
  });

  it("ends running watches with UNAVAILABLE on close and refuses later calls", async () => {
    const store = open(freshDir());
    const watch = new WatchRecorder(store, "Sandbox", { resourceVersion: "0" });
    await store.close();
    await watch.waitForEnd();
    assert.ok(isFsbError(watch.error, ErrorCode.Unavailable), String(watch.error));
    await rejectsWith(store.get("Sandbox", "ns-a", "a"), ErrorCode.Unavailable);
    await store.close();
  });

  const corruptions: Array<{ what: string; sql: string }> = [
    { what: "invalid JSON", sql: "UPDATE objects SET data = '{not json'" },
    {
      what: "JSON of the wrong shape",
      sql: `UPDATE objects SET data = '{"kind":"Sandbox","apiVersion":"v1"}'`,
    },
    { what: "a non-object", sql: "UPDATE objects SET data = '42'" },
  ];
  for (const { what, sql } of corruptions) {
    it(`reports a stored object with ${what} as INTERNAL`, async () => {
      const dir = freshDir();
      const store = open(dir);
      try {
        const obj = await store.create(sandbox("ns-a", "a"));
        const db = new DatabaseSync(path.join(dir, "store.db"));
        db.exec(sql);
        db.exec(sql.replace("UPDATE objects", "UPDATE events"));
        db.close();
        await rejectsWith(store.get("Sandbox", "ns-a", "a"), ErrorCode.Internal, /corrupt/);
        await rejectsWith(store.list("Sandbox"), ErrorCode.Internal, /corrupt/);
        await rejectsWith(store.update(obj), ErrorCode.Internal, /corrupt/);
        const watch = new WatchRecorder(store, "Sandbox", { resourceVersion: "0" });
        await watch.waitForEnd();
        assert.ok(isFsbError(watch.error, ErrorCode.Internal), String(watch.error));
        // Other objects keep working.
        await store.create(sandbox("ns-a", "b"));
        assert.equal((await store.get("Sandbox", "ns-a", "b")).metadata.name, "b");
      } finally {
        await store.close();
      }
    });
  }

  it("refuses a data directory whose database is not SQLite with INTERNAL, and frees the lock", async () => {
    const dir = freshDir();
    open(dir).close();
    await writeFile(path.join(dir, "store.db"), "this is not a database".repeat(100));
    await rm(path.join(dir, "store.db-wal"), { force: true });
    await rm(path.join(dir, "store.db-shm"), { force: true });
    assert.throws(
      () => open(dir),
      (err) => isFsbError(err, ErrorCode.Internal),
    );
    await assert.rejects(readFile(path.join(dir, "store.lock")), { code: "ENOENT" });
  });
});

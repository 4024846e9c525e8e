// The SQLite store on a file the disk will not write: clear UNAVAILABLE errors naming the file, reads
// that keep working, nothing half-written, and writes that resume once the file is writable again.
//
// Tests run as root, and root writes through a chmod, so the files are made immutable (chattr +i):
// the kernel then refuses every write, as a read-only or failing disk would. Only the database and its
// WAL are made immutable, never the `-shm` index, which SQLite maps into memory.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { ErrorCode } from "@fast-sandbox/api";
import { SqliteStore } from "./sqlite-store.ts";
import { rejectsWith } from "./store-fixture.ts";
import { sandbox } from "./watch-recorder.ts";

const root = await mkdtemp(path.join(os.tmpdir(), "fsb-sqlite-readonly-"));
const immutable = new Set<string>();
after(async () => {
  for (const file of immutable) chattr("-i", file);
  await rm(root, { recursive: true, force: true });
});

function chattr(flag: "+i" | "-i", file: string): void {
  execFileSync("chattr", [flag, file]);
  if (flag === "+i") immutable.add(file);
  else immutable.delete(file);
}

/** The database and its write-ahead log, which every write touches. */
function dataFiles(dir: string): string[] {
  return ["store.db", "store.db-wal"].map((f) => path.join(dir, f)).filter((f) => existsSync(f));
}

describe("SqliteStore on a file the disk will not write", () => {
  it("refuses writes UNAVAILABLE naming the file, keeps reads, and resumes once writable", async () => {
    const dir = path.join(root, "running");
    const store = new SqliteStore({ dir });
    try {
      const kept = await store.create(sandbox("default", "kept"));
      for (const file of dataFiles(dir)) chattr("+i", file);

      const file = /store\.db/;
      await rejectsWith(store.create(sandbox("default", "refused")), ErrorCode.Unavailable, file);
      await rejectsWith(store.updateStatus({ ...kept, status: { phase: "Running" } }), ErrorCode.Unavailable);
      await rejectsWith(store.delete("Sandbox", "default", "kept"), ErrorCode.Unavailable);

      const read = await store.get("Sandbox", "default", "kept");
      assert.equal(read.metadata.resourceVersion, kept.metadata.resourceVersion, "nothing changed");
      assert.deepEqual(
        (await store.list("Sandbox")).items.map((s) => s.metadata.name),
        ["kept"],
        "the refused create left nothing",
      );

      for (const file of dataFiles(dir)) chattr("-i", file);
      const later = await store.create(sandbox("default", "later"));
      assert.equal(Number(later.metadata.resourceVersion), Number(kept.metadata.resourceVersion) + 1);
    } finally {
      await store.close();
    }
    const db = new DatabaseSync(path.join(dir, "store.db"), { readOnly: true });
    try {
      assert.deepEqual(
        { ...(db.prepare("PRAGMA integrity_check").get() as object) },
        { integrity_check: "ok" },
      );
    } finally {
      db.close();
    }
  });

  it("refuses to open a read-only file, UNAVAILABLE naming it", async () => {
    const dir = path.join(root, "at-start");
    await new SqliteStore({ dir }).close();
    for (const file of dataFiles(dir)) chattr("+i", file);
    try {
      assert.throws(
        () => new SqliteStore({ dir }),
        (err: unknown) =>
          (err as { code?: string }).code === ErrorCode.Unavailable && /store\.db/.test(String(err)),
      );
    } finally {
      for (const file of dataFiles(dir)) chattr("-i", file);
    }
    // The refused open released its lock: the store opens once the file is writable.
    await new SqliteStore({ dir }).close();
  });
});

/** The SQLite store's schema, connection settings and prepared statements. */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { ErrorCode, FsbError } from "@fast-sandbox/api";

// `objects` holds the current state; `events` is the change log watches replay, one row per version;
// `meta` holds the version counter, so it survives even when events are trimmed and objects deleted.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
  CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    uid TEXT NOT NULL, rv INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS events (
    rv INTEGER PRIMARY KEY, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    type TEXT NOT NULL, data TEXT NOT NULL, prev_labels TEXT
  ) STRICT;
  CREATE INDEX IF NOT EXISTS events_by_kind ON events (kind, rv);
`;

const STATEMENTS = {
  get: "SELECT data FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
  listAll: "SELECT namespace, name, data FROM objects WHERE kind = ? ORDER BY namespace, name",
  listNs: "SELECT namespace, name, data FROM objects WHERE kind = ? AND namespace = ? ORDER BY name",
  insert: "INSERT INTO objects (kind, namespace, name, uid, rv, data) VALUES (?, ?, ?, ?, ?, ?)",
  upsert: "INSERT OR REPLACE INTO objects (kind, namespace, name, uid, rv, data) VALUES (?, ?, ?, ?, ?, ?)",
  remove: "DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?",
  event:
    "INSERT INTO events (rv, kind, namespace, name, type, data, prev_labels) VALUES (?, ?, ?, ?, ?, ?, ?)",
  counter: "INSERT OR REPLACE INTO meta (key, value) VALUES ('rv', ?)",
  trim: "DELETE FROM events WHERE rv <= ?",
  oldest: "SELECT min(rv) AS rv FROM events",
  historyAll: "SELECT rv, type, data, prev_labels FROM events WHERE kind = ? AND rv > ? ORDER BY rv",
  historyNs:
    "SELECT rv, type, data, prev_labels FROM events WHERE kind = ? AND rv > ? AND namespace = ? ORDER BY rv",
} as const;

export type StoreStatements = Record<keyof typeof STATEMENTS, StatementSync>;

/**
 * Opens (creating if needed) the database at `file` in WAL mode with synchronous=NORMAL: a crash of the
 * process loses nothing committed, a power loss at most the last few commits, and writes stay fast.
 */
export function openStoreDatabase(file: string): {
  db: DatabaseSync;
  statements: StoreStatements;
  counter: number;
} {
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    db.exec(SCHEMA);
    const statements = Object.fromEntries(
      Object.entries(STATEMENTS).map(([name, text]) => [name, db.prepare(text)]),
    ) as StoreStatements;
    const counter = readCounter(db);
    // SQLite opens a file it may not write read-only without a word, and every write would then
    // fail: one write now (the counter, unchanged) makes a read-only store fail at start instead.
    db.exec("BEGIN IMMEDIATE");
    try {
      statements.counter.run(counter);
      db.exec("COMMIT");
    } catch (err) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw err;
    }
    return { db, statements, counter };
  } catch (err) {
    db.close();
    throw err;
  }
}

function readCounter(db: DatabaseSync): number {
  const stored = db.prepare("SELECT value FROM meta WHERE key = 'rv'").get();
  if (stored !== undefined) {
    if (typeof stored.value !== "number")
      throw new FsbError(ErrorCode.Internal, "corrupt resourceVersion counter");
    return stored.value;
  }
  // A database without a counter row is new: start after anything present, so versions never repeat.
  const max = db
    .prepare(
      "SELECT max(coalesce((SELECT max(rv) FROM events), 0), coalesce((SELECT max(rv) FROM objects), 0)) AS rv",
    )
    .get();
  return Number(max?.rv ?? 0);
}

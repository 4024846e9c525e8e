/** SQLite's failures in the store's terms: what the disk or the file refused, said plainly, with a code callers can act on. */
import { ErrorCode, FsbError, toFsbError } from "@fast-sandbox/api";

/** SQLite's primary result codes (the low byte of an extended code) that the store can meet. */
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_NOMEM = 7;
const SQLITE_READONLY = 8;
const SQLITE_IOERR = 10;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;

/** What the operator can do about each condition the disk or the file is in. */
const unavailable: Record<number, string> = {
  [SQLITE_BUSY]: "the database is busy",
  [SQLITE_LOCKED]: "the database is locked",
  [SQLITE_NOMEM]: "out of memory",
  [SQLITE_READONLY]: "the file or its directory is read-only; make it writable",
  [SQLITE_IOERR]: "the disk refused a read or write (read-only, full or failing); fix the disk or the file",
  [SQLITE_FULL]: "the disk is full; free space",
  [SQLITE_CANTOPEN]: "the file cannot be opened; check the directory and its permissions",
};

/**
 * The store's error for a failure of node:sqlite on `file`. A disk or file that refuses writes is
 * UNAVAILABLE (nothing was written, the store stays consistent, and the same call succeeds once the
 * disk is fixed); a damaged file is INTERNAL. Anything else passes through `toFsbError`.
 */
export function fromSqliteError(err: unknown, file: string): FsbError {
  if (err instanceof FsbError) return err;
  const sqlite = err as { code?: unknown; errcode?: unknown; errstr?: unknown; message?: unknown };
  if (sqlite?.code !== "ERR_SQLITE_ERROR" || typeof sqlite.errcode !== "number") return toFsbError(err);
  const primary = sqlite.errcode & 0xff;
  const what = typeof sqlite.errstr === "string" ? sqlite.errstr : String(sqlite.message);
  if (primary === SQLITE_CORRUPT || primary === SQLITE_NOTADB) {
    return new FsbError(
      ErrorCode.Internal,
      `the store ${file} is damaged (${what}); restore it from a backup`,
      { cause: err },
    );
  }
  const advice = unavailable[primary];
  if (advice === undefined) return toFsbError(err);
  return new FsbError(ErrorCode.Unavailable, `the store ${file} cannot be used: ${what}: ${advice}`, {
    cause: err,
  });
}

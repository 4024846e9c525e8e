/** The embedded ObjectStore: objects and an event log in SQLite (node:sqlite), watches fed from the log. */
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { ErrorCode, FsbError, invalidArgument, type NewObject, type StoredObject } from "@fast-sandbox/api";
import { acquireLockFile, type LockFile } from "../core/lock-file.ts";
import type {
  ListOptions,
  ListResult,
  WatchEvent,
  WatchEventType,
  WatchOptions,
} from "../kube/list-watch.ts";
import { decodeLabels, decodeStoredObject } from "./decode-stored-object.ts";
import { labelMatcher } from "./label-selector.ts";
import type { DeleteOptions, ObjectStore } from "./object-store.ts";
import {
  applyDelete,
  applyStatusUpdate,
  applyUpdate,
  checkVersion,
  parseResourceVersion,
  prepareCreate,
  validateKind,
  type WriteOutcome,
} from "./object-writes.ts";
import { fromSqliteError } from "./sqlite-errors.ts";
import { openStoreDatabase, type StoreStatements } from "./sqlite-schema.ts";
import { type ChangeFacts, filterChange } from "./watch-filter.ts";
import { WatchStream } from "./watch-stream.ts";

export interface SqliteStoreOptions {
  /** Data directory; holds `store.db` (plus WAL files) and `store.lock`. Created if missing. */
  dir: string;
  /** Events kept for watches from older versions (default 10,000); older ones are trimmed. */
  maxEvents?: number;
  /** Live events a watcher may fall behind before its watch ends with OUT_OF_RANGE (default 10,000). */
  watchBufferLimit?: number;
  /** Source of creation and deletion timestamps (tests pin it). */
  now?: () => Date;
}

/** A change as the notifier hands it to live watchers: facts to filter on, JSON each watcher parses. */
interface Change extends ChangeFacts {
  kind: string;
  json: string;
}

/** What a watcher buffers: replayed history is parsed already, live changes are parsed on delivery. */
type Buffered = { type: WatchEventType; object: StoredObject } | { type: WatchEventType; json: string };

type Row = Record<string, unknown>;

/**
 * An ObjectStore in `<dir>/store.db`. Every write is one transaction that updates `objects`, appends one
 * event and advances the counter, then notifies live watchers synchronously; since node:sqlite is
 * synchronous too, nothing can interleave between a write and its notification, nor between a watch's
 * history query and its registration, which is what makes watches gap- and duplicate-free.
 */
export class SqliteStore implements ObjectStore {
  /** node:sqlite writes synchronously to a local file. */
  readonly writesAreLocal = true;
  readonly #db: DatabaseSync;
  readonly #file: string;
  readonly #lock: LockFile;
  readonly #maxEvents: number;
  readonly #trimEvery: number;
  readonly #watchBufferLimit: number;
  readonly #now: () => Date;
  readonly #watchers = new Map<string, Set<{ notify(c: Change): void; fail(e: Error): void }>>();
  readonly #sql: StoreStatements;
  #rv: number;
  #closed = false;

  constructor(options: SqliteStoreOptions) {
    this.#maxEvents = positiveInteger(options.maxEvents ?? 10_000, "maxEvents");
    this.#watchBufferLimit = positiveInteger(options.watchBufferLimit ?? 10_000, "watchBufferLimit");
    // Trimming in every write would cost a delete each time; every tenth of the window is plenty.
    this.#trimEvery = Math.max(1, Math.min(1000, Math.ceil(this.#maxEvents / 10)));
    this.#now = options.now ?? (() => new Date());
    this.#file = path.join(options.dir, "store.db");
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    this.#lock = acquireLockFile(path.join(options.dir, "store.lock"));
    try {
      const opened = openStoreDatabase(this.#file);
      this.#db = opened.db;
      this.#sql = opened.statements;
      this.#rv = opened.counter;
    } catch (err) {
      this.#lock.release();
      throw fromSqliteError(err, this.#file);
    }
  }

  async create<Spec, Status>(obj: NewObject<Spec, Status>): Promise<StoredObject<Spec, Status>> {
    return this.#guard(() => {
      const rv = String(this.#rv + 1);
      const created = prepareCreate(obj as NewObject, {
        uid: randomUUID(),
        resourceVersion: rv,
        creationTimestamp: this.#now().toISOString(),
      });
      const { kind, metadata } = created;
      if (this.#read(kind, metadata.namespace, metadata.name) !== undefined) {
        throw new FsbError(
          ErrorCode.AlreadyExists,
          `${kind} ${metadata.namespace}/${metadata.name} already exists`,
        );
      }
      return this.#commit("ADDED", created, undefined, "insert") as StoredObject<Spec, Status>;
    });
  }

  async get<Spec, Status>(
    kind: string,
    namespace: string,
    name: string,
  ): Promise<StoredObject<Spec, Status>> {
    return this.#guard(() => this.#mustRead(kind, namespace, name) as StoredObject<Spec, Status>);
  }

  async list<Spec, Status>(
    kind: string,
    options: ListOptions = {},
  ): Promise<ListResult<StoredObject<Spec, Status>>> {
    return this.#guard(() => {
      validateKind(kind);
      const matches = labelMatcher(options.labelSelector);
      const rows =
        options.namespace === undefined
          ? this.#sql.listAll.all(kind)
          : this.#sql.listNs.all(kind, options.namespace);
      const items = rows
        .map((row) => decodeStoredObject(row.data, `${kind} ${String(row.namespace)}/${String(row.name)}`))
        .filter((obj) => matches(obj.metadata.labels));
      return { items: items as StoredObject<Spec, Status>[], resourceVersion: String(this.#rv) };
    });
  }

  async update<Spec, Status>(obj: StoredObject<Spec, Status>): Promise<StoredObject<Spec, Status>> {
    return this.#guard(() => {
      const existing = this.#mustReadTarget(obj);
      return this.#apply(applyUpdate(existing, obj as StoredObject), existing) as StoredObject<Spec, Status>;
    });
  }

  async updateStatus<Spec, Status>(obj: StoredObject<Spec, Status>): Promise<StoredObject<Spec, Status>> {
    return this.#guard(() => {
      const existing = this.#mustReadTarget(obj);
      return this.#apply(applyStatusUpdate(existing, obj as StoredObject), existing) as StoredObject<
        Spec,
        Status
      >;
    });
  }

  async delete<Spec, Status>(
    kind: string,
    namespace: string,
    name: string,
    options: DeleteOptions = {},
  ): Promise<StoredObject<Spec, Status>> {
    return this.#guard(() => {
      const existing = this.#mustRead(kind, namespace, name);
      if (options.resourceVersion !== undefined) checkVersion(existing, options.resourceVersion);
      const outcome = applyDelete(existing, this.#now().toISOString());
      return this.#apply(outcome, existing) as StoredObject<Spec, Status>;
    });
  }

  watch<Spec, Status>(
    kind: string,
    options: WatchOptions,
    signal: AbortSignal,
  ): AsyncIterable<WatchEvent<StoredObject<Spec, Status>>> {
    const watchers = this.#watchers;
    const watcher = {
      notify: (change: Change): void => {
        const type = filterChange(change, options.namespace, matches);
        if (type !== undefined) stream.push({ type, json: change.json });
      },
      fail: (error: Error): void => stream.fail(error),
    };
    let matches: (labels: Readonly<Record<string, string>>) => boolean = () => false;
    const stream = new WatchStream<Buffered, WatchEvent<StoredObject<Spec, Status>>>({
      limit: this.#watchBufferLimit,
      signal,
      decode: (item) => ({
        type: item.type,
        object: ("object" in item
          ? item.object
          : decodeStoredObject(item.json, `${kind} event`)) as StoredObject<Spec, Status>,
      }),
      onClose: () => watchers.get(kind)?.delete(watcher),
    });
    if (stream.closed) return stream;
    // History and registration happen in this one synchronous step: no write can fall between them.
    try {
      this.#checkOpen();
      validateKind(kind);
      matches = labelMatcher(options.labelSelector);
      const from = parseResourceVersion(options.resourceVersion, "resourceVersion");
      stream.preload(this.#history(kind, from, options.namespace, matches));
      const set = watchers.get(kind) ?? new Set();
      watchers.set(kind, set);
      set.add(watcher);
    } catch (err) {
      stream.fail(fromSqliteError(err, this.#file));
    }
    return stream;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closedError = new FsbError(ErrorCode.Unavailable, "the store is closed");
    for (const set of this.#watchers.values()) for (const w of [...set]) w.fail(closedError);
    this.#watchers.clear();
    try {
      this.#db.close();
    } finally {
      this.#lock.release();
    }
  }

  /** Runs a read or write, turning SQLite's errors into the store's (see sqlite-errors.ts). */
  #guard<T>(body: () => T): T {
    this.#checkOpen();
    try {
      return body();
    } catch (err) {
      throw fromSqliteError(err, this.#file);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new FsbError(ErrorCode.Unavailable, "the store is closed");
  }

  #read(kind: string, namespace: string, name: string): StoredObject | undefined {
    validateKind(kind);
    if (typeof namespace !== "string") throw invalidArgument("metadata.namespace", "must be a string");
    if (typeof name !== "string") throw invalidArgument("metadata.name", "must be a string");
    const row = this.#sql.get.get(kind, namespace, name);
    return row === undefined ? undefined : decodeStoredObject(row.data, `${kind} ${namespace}/${name}`);
  }

  #mustRead(kind: string, namespace: string, name: string): StoredObject {
    const obj = this.#read(kind, namespace, name);
    if (obj === undefined) throw new FsbError(ErrorCode.NotFound, `${kind} ${namespace}/${name} not found`);
    return obj;
  }

  #mustReadTarget(obj: StoredObject): StoredObject {
    if (
      typeof obj !== "object" ||
      obj === null ||
      typeof obj.metadata !== "object" ||
      obj.metadata === null
    ) {
      throw invalidArgument("metadata", "is required");
    }
    return this.#mustRead(obj.kind, obj.metadata.namespace, obj.metadata.name);
  }

  #apply(outcome: WriteOutcome, existing: StoredObject): StoredObject {
    if (outcome.action === "none") return outcome.object;
    const copy: StoredObject = { ...outcome.object, metadata: { ...outcome.object.metadata } };
    if (outcome.action === "remove") return this.#commit("DELETED", copy, undefined, "remove");
    return this.#commit("MODIFIED", copy, existing.metadata.labels, "upsert");
  }

  /** One write: object row, event and counter in one transaction, then live notification. */
  #commit(
    type: WatchEventType,
    obj: StoredObject,
    previousLabels: Record<string, string> | undefined,
    op: "insert" | "upsert" | "remove",
  ): StoredObject {
    const rv = this.#rv + 1;
    obj.metadata.resourceVersion = String(rv);
    const { kind } = obj;
    const { namespace, name, uid } = obj.metadata;
    const json = JSON.stringify(obj);
    const prev = previousLabels === undefined ? null : JSON.stringify(previousLabels);
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      if (op === "remove") this.#sql.remove.run(kind, namespace, name);
      else this.#sql[op].run(kind, namespace, name, uid, rv, json);
      this.#sql.event.run(rv, kind, namespace, name, type, json, prev);
      this.#sql.counter.run(rv);
      if (rv % this.#trimEvery === 0) this.#sql.trim.run(rv - this.#maxEvents);
      this.#db.exec("COMMIT");
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw err;
    }
    this.#rv = rv;
    const change: Change = { kind, type, namespace, labels: obj.metadata.labels, previousLabels, json };
    for (const watcher of [...(this.#watchers.get(kind) ?? [])]) watcher.notify(change);
    return obj;
  }

  /** The events of `kind` after `from` that a watch sees; OUT_OF_RANGE if some are no longer kept. */
  #history(
    kind: string,
    from: number,
    namespace: string | undefined,
    matches: (labels: Readonly<Record<string, string>>) => boolean,
  ): Buffered[] {
    if (from > this.#rv) {
      throw new FsbError(
        ErrorCode.OutOfRange,
        `resourceVersion ${from} is newer than the store (${this.#rv})`,
      );
    }
    if (from === this.#rv) return [];
    // Events are contiguous (one per version), so the oldest kept one tells whether all after `from` remain.
    const oldest = this.#sql.oldest.get()?.rv;
    if (typeof oldest !== "number" || oldest > from + 1) {
      throw new FsbError(
        ErrorCode.OutOfRange,
        `resourceVersion ${from} is too old (the store keeps events from ${oldest ?? this.#rv + 1}); re-list and watch again`,
      );
    }
    const rows =
      namespace === undefined
        ? this.#sql.historyAll.iterate(kind, from)
        : this.#sql.historyNs.iterate(kind, from, namespace);
    const out: Buffered[] = [];
    for (const row of rows) {
      const item = replayItem(row, kind, namespace, matches);
      if (item !== undefined) out.push(item);
    }
    return out;
  }
}

function replayItem(
  row: Row,
  kind: string,
  namespace: string | undefined,
  matches: (labels: Readonly<Record<string, string>>) => boolean,
): Buffered | undefined {
  const where = `${kind} event ${String(row.rv)}`;
  const object = decodeStoredObject(row.data, where);
  const type = row.type as WatchEventType;
  if (type !== "ADDED" && type !== "MODIFIED" && type !== "DELETED") {
    throw new FsbError(ErrorCode.Internal, `corrupt ${where}: unknown type ${JSON.stringify(type)}`);
  }
  const previousLabels = row.prev_labels === null ? undefined : decodeLabels(row.prev_labels, where);
  const facts = {
    type,
    namespace: object.metadata.namespace,
    labels: object.metadata.labels,
    previousLabels,
  };
  const seen = filterChange(facts, namespace, matches);
  return seen === undefined ? undefined : { type: seen, object };
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw invalidArgument(field, "must be a positive integer");
  return value;
}

/**
 * Turns recorded events into the writes an events.k8s.io/v1 sink sends, as client-go's recorders do:
 * similar events aggregated, isomorphic ones folded into a series, and each object rate-limited.
 * Pure but for its own memory; time is passed in.
 */
import { EVENT_CACHE_SIZE, EventSpamFilter, type SpamFilterOptions } from "./event-spam-filter.ts";
import { LruMap } from "./lru-map.ts";

/** What an event is about: an ObjectReference with the uid (kubectl describe matches on it). */
export interface EventRegarding {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
}

/** One event as the controller records it. */
export interface RecordedEvent {
  regarding: EventRegarding;
  type: "Normal" | "Warning";
  reason: string;
  action: string;
  note: string;
}

/** How often an isomorphic event was seen, and when last (epoch ms). */
export interface EventSeries {
  count: number;
  lastObservedTime: number;
}

/**
 * A write for the sink: `create` a new Event (with its series when repeats were seen before it was
 * first written), or `patch` the series of one already written.
 */
export type EventWrite =
  | {
      kind: "create";
      namespace: string;
      name: string;
      event: RecordedEvent;
      eventTime: number;
      series?: EventSeries;
    }
  | {
      kind: "patch";
      namespace: string;
      name: string;
      event: RecordedEvent;
      eventTime: number;
      series: EventSeries;
    };

/** What one observation leads to: a write, nothing to write now, or a write the spam filter held back. */
export type Correlation = EventWrite | { kind: "folded" } | { kind: "throttled" };

/** client-go's aggregation: 10 distinct notes of one reason within 10 minutes are combined. */
export const AGGREGATE_MAX_NOTES = 10;
export const AGGREGATE_WINDOW_MS = 10 * 60_000;
/** A series not seen again for this long is finished; the next one is a new Event (client-go: 6 minutes). */
export const SERIES_FINISH_MS = 6 * 60_000;
/** The API server's limit on a note, in bytes. */
export const NOTE_MAX_BYTES = 1024;
/** What a combined event's note starts with, as in client-go. */
export const COMBINED_PREFIX = "(combined from similar events): ";

export interface CorrelatorOptions extends SpamFilterOptions {
  aggregateMaxNotes?: number;
  aggregateWindowMs?: number;
  seriesFinishMs?: number;
}

interface Aggregate {
  notes: Set<string>;
  last: number;
}

interface Series {
  namespace: string;
  name: string;
  event: RecordedEvent;
  eventTime: number;
  count: number;
  lastObservedTime: number;
  /** Whether the Event exists (its create was let through). */
  written: boolean;
}

/**
 * The pipeline, in client-go's order: aggregate (an object's reason with many different notes
 * becomes one combined event), then fold isomorphic events (same object, type, reason, action and
 * note) into a series, then the spam filter decides whether the write goes out. Every observation
 * counts in its series, so a write let through later carries the true count.
 *
 * One deliberate difference: a series is patched when its count reaches a power of two (2, 4, 8,
 * ...), not on every repeat. A sandbox retried every second for lack of room would otherwise spend
 * its object's 25 tokens on repeats in 25 seconds, and its Scheduled and Started events would be
 * throttled; this way a flood of repeats costs a handful of writes.
 */
export class EventCorrelator {
  readonly #spam: EventSpamFilter;
  readonly #aggregates: LruMap<string, Aggregate>;
  readonly #series: LruMap<string, Series>;
  readonly #maxNotes: number;
  readonly #windowMs: number;
  readonly #finishMs: number;
  #lastNameTime = 0n;

  constructor(options: CorrelatorOptions = {}) {
    const size = options.cacheSize ?? EVENT_CACHE_SIZE;
    this.#spam = new EventSpamFilter(options);
    this.#aggregates = new LruMap(size);
    this.#series = new LruMap(size);
    this.#maxNotes = options.aggregateMaxNotes ?? AGGREGATE_MAX_NOTES;
    this.#windowMs = options.aggregateWindowMs ?? AGGREGATE_WINDOW_MS;
    this.#finishMs = options.seriesFinishMs ?? SERIES_FINISH_MS;
  }

  observe(recorded: RecordedEvent, now: number): Correlation {
    const event = { ...recorded, note: truncateNote(recorded.note) };
    const object = objectIdentity(event.regarding);
    const similar = [object, event.type, event.reason, event.action].join("\u0000");
    const combined = this.#aggregate(similar, event.note, now);
    const key = combined ? `${similar}\u0000combined` : `${similar}\u0000${event.note}`;
    let series = this.#series.get(key);
    if (series && now - series.lastObservedTime > this.#finishMs) series = undefined;
    if (!series) {
      const note = combined ? truncateNote(COMBINED_PREFIX + event.note) : event.note;
      series = {
        namespace: event.regarding.namespace,
        name: this.#eventName(event.regarding.name, now),
        event: { ...event, note },
        eventTime: now,
        count: 1,
        lastObservedTime: now,
        written: false,
      };
    } else {
      series.count++;
      series.lastObservedTime = now;
    }
    this.#series.set(key, series);
    if (series.written && !isPowerOfTwo(series.count)) return { kind: "folded" };
    if (!this.#spam.allow(object, now)) return { kind: "throttled" };
    const write = this.#write(series);
    series.written = true;
    return write;
  }

  /** Whether this note makes its reason's notes many enough to be combined (client-go's aggregator). */
  #aggregate(similar: string, note: string, now: number): boolean {
    let aggregate = this.#aggregates.get(similar);
    if (!aggregate || now - aggregate.last > this.#windowMs) aggregate = { notes: new Set(), last: now };
    aggregate.last = now;
    if (aggregate.notes.size < this.#maxNotes) aggregate.notes.add(note);
    this.#aggregates.set(similar, aggregate);
    return aggregate.notes.size >= this.#maxNotes;
  }

  #write(series: Series): EventWrite {
    const base = {
      namespace: series.namespace,
      name: series.name,
      event: series.event,
      eventTime: series.eventTime,
    };
    const seen = { count: series.count, lastObservedTime: series.lastObservedTime };
    if (series.written) return { kind: "patch", ...base, series: seen };
    return series.count > 1 ? { kind: "create", ...base, series: seen } : { kind: "create", ...base };
  }

  /** `<object name>.<hex nanoseconds>`, as client-go names events; unique even within one millisecond. */
  #eventName(objectName: string, now: number): string {
    let nanos = BigInt(Math.trunc(now)) * 1_000_000n;
    if (nanos <= this.#lastNameTime) nanos = this.#lastNameTime + 1n;
    this.#lastNameTime = nanos;
    return `${objectName}.${nanos.toString(16)}`;
  }
}

/** The object alone, not its version: every status write changes resourceVersion. */
function objectIdentity(ref: EventRegarding): string {
  return [ref.apiVersion, ref.kind, ref.namespace, ref.name, ref.uid].join("\u0000");
}

/** At most NOTE_MAX_BYTES of UTF-8, cut on a character boundary and marked as cut. */
export function truncateNote(note: string): string {
  if (Buffer.byteLength(note) <= NOTE_MAX_BYTES) return note;
  const suffix = " ...";
  let cut = note.slice(0, NOTE_MAX_BYTES - suffix.length);
  while (Buffer.byteLength(cut) > NOTE_MAX_BYTES - suffix.length) cut = cut.slice(0, -1);
  // Never end on half a surrogate pair.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return cut + suffix;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

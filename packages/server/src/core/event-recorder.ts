/** What the controller tells about its objects as Kubernetes Events: the interface, and a recorder that only logs. */
import type { StoredObject } from "@fast-sandbox/api";
import type { Logger } from "pino";

/** An event's type, as events.k8s.io/v1 allows it. */
export type EventType = "Normal" | "Warning";

/**
 * Records that something happened to an object. `reason` is an UpperCamelCase constant (why),
 * `action` a machine-readable verb (what was done or failed), `note` one human sentence. Never
 * throws and never waits: recording is best effort and must not slow the caller down.
 */
export interface EventRecorder {
  /** What became of the events so far, where the recorder writes them somewhere (for metrics). */
  readonly stats?: EventRecorderStats;
  normal(regarding: StoredObject, reason: string, action: string, note: string): void;
  warning(regarding: StoredObject, reason: string, action: string, note: string): void;
}

/** Counts of what became of recorded events. */
export interface EventRecorderStats {
  written: number;
  /** Repeats counted in a series without a write of their own. */
  folded: number;
  /** Held back by the per-object spam filter. */
  throttled: number;
  /** Dropped because the write queue was full. */
  dropped: number;
  failed: number;
}

/** Records nothing: for parts built without a recorder. */
export const NO_EVENTS: EventRecorder = { normal: () => {}, warning: () => {} };

/**
 * The standalone (SQLite) controller's recorder: there is no Events API to write to and no one to
 * read a per-object history from, while every transition already shows in the object's status
 * conditions and in the log; so events are only logged, at debug.
 */
export class LogEventRecorder implements EventRecorder {
  readonly #log: Logger;

  constructor(logger: Logger) {
    this.#log = logger;
  }

  normal(regarding: StoredObject, reason: string, action: string, note: string): void {
    this.#record("Normal", regarding, reason, action, note);
  }

  warning(regarding: StoredObject, reason: string, action: string, note: string): void {
    this.#record("Warning", regarding, reason, action, note);
  }

  #record(type: EventType, regarding: StoredObject, reason: string, action: string, note: string): void {
    const { kind, metadata } = regarding;
    this.#log.debug(
      { event: { type, reason, action }, kind, object: `${metadata.namespace}/${metadata.name}` },
      note,
    );
  }
}

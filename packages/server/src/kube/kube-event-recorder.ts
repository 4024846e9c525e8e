/** The EventRecorder of Kubernetes mode: correlates events, then writes them as events.k8s.io/v1 Events in the background. */
import { ErrorCode, isFsbError, type StoredObject } from "@fast-sandbox/api";
import { EventsV1Api, type EventsV1Event, type KubeConfig, V1MicroTime } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { EventRecorder, EventRecorderStats, EventType } from "../core/event-recorder.ts";
import {
  type CorrelatorOptions,
  EventCorrelator,
  type EventSeries,
  type EventWrite,
} from "./event-correlator.ts";
import { kubeError } from "./kube-errors.ts";

/** Who reports the controller's events: a qualified name, as the API server requires. */
export const REPORTING_CONTROLLER = "sandbox.fast.io/fsb-controller";
/** Writes waiting for the API server beyond this many are dropped (and counted): events are best effort. */
export const EVENT_QUEUE_CAP = 1000;

/** The part of client-node's EventsV1Api the recorder uses (a test passes a fake). */
export interface EventsWriter {
  createNamespacedEvent(param: { namespace: string; body: EventsV1Event }): Promise<unknown>;
  patchNamespacedEvent(param: { name: string; namespace: string; body: unknown }): Promise<unknown>;
}

export interface KubeEventRecorderOptions extends CorrelatorOptions {
  /** client-node's EventsV1Api, or a fake. */
  api: EventsWriter;
  /** This replica (the leader identity, or POD_NAME): at most 128 characters. */
  reportingInstance: string;
  logger: Logger;
  now?: () => number;
  queueCap?: number;
}

/**
 * Recording never waits and never throws: the correlation is synchronous, the write goes to a
 * bounded queue that one loop sends in order (a patch never overtakes its create), and a failed
 * write is logged and forgotten. A slow or unreachable API server costs dropped events, never a
 * slower reconcile.
 */
export class KubeEventRecorder implements EventRecorder {
  readonly stats: EventRecorderStats = { written: 0, folded: 0, throttled: 0, dropped: 0, failed: 0 };
  readonly #o: KubeEventRecorderOptions;
  readonly #now: () => number;
  readonly #correlator: EventCorrelator;
  readonly #queue: EventWrite[] = [];
  #sending: Promise<void> | undefined;

  constructor(options: KubeEventRecorderOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#correlator = new EventCorrelator(options);
  }

  /** A recorder writing through `kubeConfig`'s EventsV1Api. */
  static forCluster(
    kubeConfig: KubeConfig,
    options: Omit<KubeEventRecorderOptions, "api">,
  ): KubeEventRecorder {
    return new KubeEventRecorder({ ...options, api: kubeConfig.makeApiClient(EventsV1Api) });
  }

  normal(regarding: StoredObject, reason: string, action: string, note: string): void {
    this.#record("Normal", regarding, reason, action, note);
  }

  warning(regarding: StoredObject, reason: string, action: string, note: string): void {
    this.#record("Warning", regarding, reason, action, note);
  }

  /** Resolves once every queued write has been sent (or has failed). */
  async flush(): Promise<void> {
    while (this.#sending) await this.#sending;
  }

  #record(type: EventType, regarding: StoredObject, reason: string, action: string, note: string): void {
    const { apiVersion, kind, metadata } = regarding;
    const { namespace, name, uid, resourceVersion } = metadata;
    const ref = { apiVersion, kind, namespace, name, uid, resourceVersion };
    const outcome = this.#correlator.observe({ regarding: ref, type, reason, action, note }, this.#now());
    if (outcome.kind === "folded" || outcome.kind === "throttled") {
      this.stats[outcome.kind]++;
      return;
    }
    if (this.#queue.length >= (this.#o.queueCap ?? EVENT_QUEUE_CAP)) {
      this.stats.dropped++;
      this.#o.logger.debug({ reason, object: `${namespace}/${name}` }, "event queue full; event dropped");
      return;
    }
    this.#queue.push(outcome);
    this.#sending ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      for (let write = this.#queue.shift(); write; write = this.#queue.shift()) await this.#send(write);
    } finally {
      this.#sending = undefined;
    }
  }

  async #send(write: EventWrite): Promise<void> {
    const where = `event ${write.namespace}/${write.name}`;
    try {
      if (write.kind === "patch") {
        try {
          await this.#o.api.patchNamespacedEvent({
            name: write.name,
            namespace: write.namespace,
            body: seriesPatch(write.series),
          });
          this.stats.written++;
          return;
        } catch (err) {
          // The Event is gone (it expired, or its create failed): write it whole, with its series.
          if (!isFsbError(kubeError(err, `patch ${where}`), ErrorCode.NotFound)) throw err;
        }
      }
      await this.#o.api.createNamespacedEvent({
        namespace: write.namespace,
        body: eventBody(write, REPORTING_CONTROLLER, this.#o.reportingInstance),
      });
      this.stats.written++;
    } catch (err) {
      this.stats.failed++;
      this.#o.logger.warn(
        { err: kubeError(err, `write ${where}`), reason: write.event.reason },
        "could not write an event",
      );
    }
  }
}

/** The events.k8s.io/v1 Event a create sends. */
export function eventBody(
  write: EventWrite,
  reportingController: string,
  reportingInstance: string,
): EventsV1Event {
  const { event } = write;
  return {
    apiVersion: "events.k8s.io/v1",
    kind: "Event",
    metadata: { name: write.name, namespace: write.namespace },
    eventTime: new V1MicroTime(write.eventTime),
    reportingController,
    reportingInstance: reportingInstance.slice(0, 128),
    action: event.action,
    reason: event.reason,
    note: event.note,
    type: event.type,
    regarding: { ...event.regarding },
    ...(write.series
      ? {
          series: {
            count: write.series.count,
            lastObservedTime: new V1MicroTime(write.series.lastObservedTime),
          },
        }
      : {}),
  };
}

/**
 * The JSON patch (client-node's default patch type for this call) that sets a written Event's
 * series; `add` replaces a member that exists. Only the series changes: the API server keeps the
 * rest of an events.k8s.io Event immutable.
 */
export function seriesPatch(series: EventSeries): unknown[] {
  return [
    {
      op: "add",
      path: "/series",
      value: { count: series.count, lastObservedTime: microTime(series.lastObservedTime) },
    },
  ];
}

/** RFC 3339 with microseconds, the MicroTime format the API server requires. */
export function microTime(epochMs: number): string {
  return new V1MicroTime(epochMs).toISOString();
}

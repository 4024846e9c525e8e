/** One ObjectStore watch over the Kubernetes watch API: bookmarks, ERROR events, and quiet renewals of the request. */
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import type { Clock, Timer } from "../core/clock.ts";
import {
  isTooLargeResourceVersion,
  type KubeStatus,
  kubeError,
  kubeStatusError,
} from "../kube/kube-errors.ts";
import type { WatchEvent, WatchEventType } from "../kube/list-watch.ts";
import { WatchStream } from "./watch-stream.ts";

/** Opens one watch request; the shape of client-node's `Watch.watch`, so tests can pass a fake. */
export type WatchOpener = (
  path: string,
  query: Record<string, string | number | boolean | undefined>,
  onEvent: (type: string, object: unknown) => void,
  onDone: (err: unknown) => void,
) => Promise<AbortController>;

/**
 * How long the server keeps one watch request open. client-node's Watch gives up on a connection
 * that sends nothing for 30 s, so the server must end it first; it sends a bookmark just before, and
 * the next request continues from that version without a gap.
 */
export const WATCH_REQUEST_SECONDS = 25;
/** A request that ends this soon without a single event is not renewed at once (no busy loop). */
const QUICK_END_MS = 1000;
const QUICK_END_DELAY_MS = 1000;
/** A watch cache behind the version asked for catches up within seconds; retry this often, this long. */
const TOO_LARGE_RETRY_MS = 500;
const TOO_LARGE_MAX_RETRIES = 60;

export interface KubeWatchOptions<T> {
  open: WatchOpener;
  /** The collection path (one namespace or all). */
  path: string;
  resourceVersion: string;
  labelSelector?: string | undefined;
  signal: AbortSignal;
  /** Turns an event's object into what the consumer gets; a throw ends the watch with that error. */
  decode: (raw: unknown) => T;
  /** Events the consumer may fall behind before the watch ends with OUT_OF_RANGE. */
  bufferLimit: number;
  clock: Clock;
  /** Names the watch in error messages, such as `watch Sandbox`. */
  what: string;
  /** Called once when the watch stops for any reason. */
  onClose?: () => void;
  /** Seconds each request stays open (default {@link WATCH_REQUEST_SECONDS}). */
  requestSeconds?: number;
}

type Buffered = { type: WatchEventType; raw: unknown };

/**
 * Every change after a resourceVersion, as the ObjectStore contract wants, from a sequence of watch
 * requests. Each request starts at the last version seen, from an event or a BOOKMARK (bookmarks are
 * never surfaced), so renewing a request loses and repeats nothing. An ERROR event ends the watch with
 * its Status translated (410 Gone: OUT_OF_RANGE), except "too large resource version", which waits for
 * the server's cache to catch up. The watch ends normally when `signal` aborts.
 */
export class KubeWatch<T> {
  readonly stream: WatchStream<Buffered, WatchEvent<T>>;
  readonly #o: KubeWatchOptions<T>;
  #resourceVersion: string;
  /** Bumped for every request; callbacks of an older request are ignored. */
  #generation = 0;
  #request: AbortController | undefined;
  #timer: Timer | undefined;
  #tooLarge = 0;

  constructor(options: KubeWatchOptions<T>) {
    this.#o = options;
    this.#resourceVersion = options.resourceVersion;
    this.stream = new WatchStream<Buffered, WatchEvent<T>>({
      limit: options.bufferLimit,
      signal: options.signal,
      decode: (item) => ({ type: item.type, object: options.decode(item.raw) }),
      onClose: () => this.#stop(),
    });
    if (!this.stream.closed) this.#open();
  }

  /** Ends the watch with `error` (the consumer's next `next()` throws it). */
  fail(error: Error): void {
    this.stream.fail(error);
  }

  #stop(): void {
    this.#generation++;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#request?.abort();
    this.#request = undefined;
    this.#o.onClose?.();
  }

  #open(): void {
    const generation = ++this.#generation;
    const o = this.#o;
    const current = (): boolean => generation === this.#generation && !this.stream.closed;
    const startedAt = o.clock.now();
    let seen = 0;
    const query = {
      resourceVersion: this.#resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: o.requestSeconds ?? WATCH_REQUEST_SECONDS,
      labelSelector: o.labelSelector,
    };
    const onEvent = (type: string, object: unknown): void => {
      if (!current()) return;
      if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") {
        const rv = resourceVersionOf(object);
        if (rv === undefined) {
          this.fail(new FsbError(ErrorCode.Internal, `${o.what}: a ${type} event without a resourceVersion`));
          return;
        }
        this.#resourceVersion = rv;
        this.#tooLarge = 0;
        seen++;
        this.stream.push({ type, raw: object });
      } else if (type === "BOOKMARK") {
        const rv = resourceVersionOf(object);
        if (rv !== undefined) this.#resourceVersion = rv;
        seen++;
      } else if (type === "ERROR") {
        const status = (typeof object === "object" && object !== null ? object : {}) as KubeStatus;
        if (isTooLargeResourceVersion(status) && this.#tooLarge < TOO_LARGE_MAX_RETRIES) {
          this.#tooLarge++;
          this.#renew(generation, TOO_LARGE_RETRY_MS);
        } else {
          this.fail(kubeStatusError(status, o.what));
        }
      }
      // Other event types are for newer clients (forward compatibility): ignored.
    };
    const onDone = (err: unknown): void => {
      if (!current()) return;
      if (err === null || err === undefined || isRequestTimeout(err)) {
        // The server ended the request (its timeout), or the client gave up on a silent connection.
        const quiet = seen === 0 && o.clock.now() - startedAt < QUICK_END_MS;
        this.#renew(generation, quiet ? QUICK_END_DELAY_MS : 0);
      } else {
        this.fail(kubeError(err, o.what));
      }
    };
    let opened: Promise<AbortController>;
    try {
      opened = o.open(o.path, query, onEvent, onDone);
    } catch (err) {
      this.fail(kubeError(err, o.what));
      return;
    }
    opened.then(
      (request) => {
        if (current()) this.#request = request;
        else request.abort();
      },
      (err: unknown) => {
        if (current()) this.fail(kubeError(err, o.what));
      },
    );
  }

  /** Ends the request of `generation` and opens the next one from the last version seen. */
  #renew(generation: number, delayMs: number): void {
    if (generation !== this.#generation) return;
    this.#generation++;
    this.#request?.abort();
    this.#request = undefined;
    if (delayMs === 0) {
      this.#open();
      return;
    }
    this.#timer = this.#o.clock.setTimer(() => {
      this.#timer = undefined;
      if (!this.stream.closed) this.#open();
    }, delayMs);
  }
}

function resourceVersionOf(object: unknown): string | undefined {
  const meta = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata;
  const rv = meta?.resourceVersion;
  return typeof rv === "string" && rv !== "" ? rv : undefined;
}

/** client-node's Watch ends a connection that sent nothing for a while with a TimeoutError. */
function isRequestTimeout(err: unknown): boolean {
  return err instanceof Error && err.name === "TimeoutError";
}

/** A watch that ends at once with `error` (or yields nothing if `signal` has already aborted). */
export function failedWatch<T>(error: Error, signal: AbortSignal): WatchStream<T, T> {
  const stream = new WatchStream<T, T>({ limit: 1, signal, decode: (x) => x, onClose: () => {} });
  stream.fail(error);
  return stream;
}

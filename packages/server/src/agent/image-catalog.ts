/** The images this node holds, as the agent's status reports them: re-read in the background, never per request. */
import type { Logger } from "pino";
import type { ImageResolver } from "../containerd/image-resolver.ts";
import { Wakeup } from "../core/wakeup.ts";
import type { StatusRevision } from "./status-revision.ts";

/**
 * How often the list is re-read. Images.List reads containerd's metadata only (no shim), so it is
 * cheap; the interval bounds how late an image pulled onto the node (by kubelet, by hand) shows in
 * the status, and so how late the controller starts placing sandboxes of it here (plus its probe).
 */
export const IMAGE_REFRESH_INTERVAL_MS = 5000;

/** Options of {@link ImageCatalog}. */
export interface ImageCatalogOptions {
  images: ImageResolver;
  logger: Logger;
  revision: StatusRevision;
  intervalMs?: number;
}

/** The cached image names; a failed refresh keeps the last good list. */
export class ImageCatalog {
  readonly #images: ImageResolver;
  readonly #log: Logger;
  readonly #revision: StatusRevision;
  readonly #intervalMs: number;
  #names: readonly string[] = [];
  #known = new Set<string>();
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #failing = false;
  /** A background refresh is waiting on containerd now. */
  #busy = false;

  constructor(options: ImageCatalogOptions) {
    this.#images = options.images;
    this.#log = options.logger;
    this.#revision = options.revision;
    this.#intervalMs = options.intervalMs ?? IMAGE_REFRESH_INTERVAL_MS;
  }

  /** Normalised names, sorted. */
  get names(): readonly string[] {
    return this.#names;
  }

  /** Reads the list once (at start-up, before the agent serves), then keeps it fresh in the background. */
  async start(): Promise<void> {
    await this.refresh();
    this.#loop ??= this.#run(this.#stop.signal);
  }

  /** Ends the background refresh; one waiting on containerd is not waited for (it fails when the connection closes). */
  async stop(): Promise<void> {
    this.#stop.abort();
    if (!this.#busy) await this.#loop;
  }

  /** A create found this image on the node: report it now rather than at the next refresh. */
  noteImage(name: string): void {
    if (this.#known.has(name)) return;
    this.#set([...this.#names, name].sort());
  }

  /** One Images.List; a failure is logged once per failing spell and changes nothing. */
  async refresh(): Promise<void> {
    try {
      this.#set(await this.#images.list());
      if (this.#failing) this.#log.info("image list readable again");
      this.#failing = false;
    } catch (err) {
      if (!this.#failing)
        this.#log.warn({ err }, "could not read the image list; reporting the last one read");
      this.#failing = true;
    }
  }

  #set(names: readonly string[]): void {
    if (names.length === this.#names.length && names.every((n, i) => n === this.#names[i])) return;
    this.#names = names;
    this.#known = new Set(names);
    this.#revision.bump();
  }

  async #run(signal: AbortSignal): Promise<void> {
    const wakeup = new Wakeup();
    while (!signal.aborted) {
      await wakeup.sleep(signal, this.#intervalMs);
      if (signal.aborted) return;
      this.#busy = true;
      await this.refresh();
      this.#busy = false;
    }
  }
}

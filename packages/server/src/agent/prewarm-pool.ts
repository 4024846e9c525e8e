/** The agent's prewarmed containers: the desired templates, the ready containers, and the one worker that refills and trims them. */
import { rm } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { ContainerRuntime, ContainerStatus } from "../containerd/container-runtime.ts";
import type { ImageResolver } from "../containerd/image-resolver.ts";
import { sleep, systemClock } from "../core/clock.ts";
import { Wakeup } from "../core/wakeup.ts";
import type { AgentConfig } from "./agent-config.ts";
import type { AgentMetrics } from "./agent-metrics.ts";
import type { AgentNetworks } from "./agent-networks.ts";
import { buildSandboxOciSpec, specContextOf } from "./build-oci-spec.ts";
import { type PrewarmStatus, prewarmStatus } from "./prewarm-status.ts";
import {
  newPrewarmContainerId,
  type PrewarmTemplate,
  planPrewarm,
  prewarmLabels,
  templateSandboxSpec,
  type WarmContainer,
  warmFromLabels,
} from "./prewarm-template.ts";
import type { SandboxNetworkIdentity } from "./sandbox-spec.ts";
import type { SandboxTools } from "./sandbox-tools.ts";
import type { StatusRevision } from "./status-revision.ts";
import type { TaskCheck } from "./task-resync.ts";

/** Options of {@link PrewarmPool}. */
export interface PrewarmPoolOptions {
  /** The node's busybox that every sandbox gets at /.fsb/busybox (none when absent). */
  tools?: SandboxTools;
  config: AgentConfig;
  runtime: ContainerRuntime;
  images: ImageResolver;
  logger: Logger;
  metrics: AgentMetrics;
  /** Bumped whenever what {@link PrewarmPool.status} reports changes. */
  revision: StatusRevision;
  /** Where containers made in isolated mode get their namespaces. */
  networks: AgentNetworks;
  now?: () => number;
}

/** First wait after a failed prewarm create; it doubles with each failure in a row, up to the max. */
const RETRY_INITIAL_MS = 1000;
/** A missing image is retried this often at most, so one pulled later is picked up without a new PUT. */
const RETRY_MAX_MS = 30_000;
/**
 * A refill waits for creates in flight to finish (they share containerd and the shim with it), but
 * no longer than this: under a steady stream of creates the pool would otherwise never refill.
 */
const MAX_QUIET_WAIT_MS = 1000;
/**
 * After a take, the refill also waits this long for the new sandbox's first command to arrive (its
 * exec then holds the worker, see {@link PrewarmPool.hold}): a client typically runs one within
 * milliseconds of the create's answer, and a container create beside it doubled that command's
 * time here (docs/benchmarks.md, "Time to first command").
 */
const TAKE_SETTLE_MS = 150;

interface Failure {
  message: string;
  inARow: number;
  retryAt: number;
}

/**
 * Keeps the prewarmed containers of this agent. They count against no slot; {@link take} hands one
 * out synchronously, so concurrent creates never get the same container. All containerd work (make,
 * trim, replace) runs in one background worker, one step at a time, and a create never waits for
 * it; the worker lets creates in flight finish before it starts a new container.
 */
export class PrewarmPool {
  readonly #config: AgentConfig;
  readonly #tools: SandboxTools | undefined;
  readonly #runtime: ContainerRuntime;
  readonly #images: ImageResolver;
  readonly #log: Logger;
  readonly #metrics: AgentMetrics;
  readonly #revision: StatusRevision;
  readonly #now: () => number;
  readonly #networks: AgentNetworks;
  #desired: PrewarmTemplate[] = [];
  /** Until the first PUT, the desired set is unknown: adopted containers are kept, none are made. */
  #pushed = false;
  readonly #ready = new Map<string, WarmContainer[]>();
  /** Containers to remove: dead tasks, stale images, the leftovers of a failed take. */
  readonly #doomed: WarmContainer[] = [];
  readonly #failures = new Map<string, Failure>();
  /** The container the worker is making now, so an exit during its create is not lost. */
  #making: { containerId: string; dead: boolean } | undefined;
  /** Creates in flight (both paths); the worker starts no container while there are any. */
  #busy = 0;
  /** performance.now() until which a refill waits for a taken container's first command. */
  #settleUntil = 0;
  readonly #quietWaiters = new Set<() => void>();
  #dirty = false;
  readonly #wakeup = new Wakeup();
  readonly #stop = new AbortController();
  #worker: Promise<void> | undefined;

  constructor(options: PrewarmPoolOptions) {
    this.#config = options.config;
    this.#tools = options.tools;
    this.#runtime = options.runtime;
    this.#images = options.images;
    this.#log = options.logger.child({ component: "prewarm" });
    this.#metrics = options.metrics;
    this.#revision = options.revision;
    this.#now = options.now ?? Date.now;
    this.#networks = options.networks;
  }

  /** The networks of the ready containers, so a restarted agent keeps their namespaces. */
  readyNetworks(): SandboxNetworkIdentity[] {
    return [...this.#ready.values()].flat().map((warm) => warm.network);
  }

  /** Ready containers over all templates. */
  get readyCount(): number {
    let n = 0;
    for (const list of this.#ready.values()) n += list.length;
    return n;
  }

  /**
   * Takes over a prewarmed container found at start-up: kept when its task still waits to be started
   * and its labels are complete, removed otherwise (a task that died, a half-made container).
   */
  async adopt(container: ContainerStatus): Promise<void> {
    const expectedLog = path.join(this.#config.logDir, `${container.id}.log`);
    const warm = warmFromLabels(container.id, container.labels);
    if (warm && warm.logPath === expectedLog && container.task.state === "created") {
      this.#readyList(warm.key).push(warm);
      this.#revision.bump();
      return;
    }
    this.#log.info(
      { containerId: container.id, taskState: container.task.state },
      "removing a prewarmed container that can no longer be used",
    );
    await this.#runtime.delete(container.id, { gracePeriodMs: 0 });
    await rm(expectedLog, { force: true });
  }

  /** Starts the worker (after adoption). */
  start(): void {
    this.#worker ??= this.#run(this.#stop.signal);
  }

  /**
   * Stops the worker once its current step is done. Prewarmed containers stay: a restarted agent
   * adopts them, and they are removed only when a new desired set leaves them out.
   */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#worker;
  }

  /** Replaces the desired set (already validated against the limit); the worker converges in the background. */
  setDesired(templates: PrewarmTemplate[]): void {
    this.#desired = templates;
    this.#pushed = true;
    const keys = new Set(templates.map((t) => t.key));
    for (const key of this.#failures.keys()) if (!keys.has(key)) this.#failures.delete(key);
    this.#revision.bump();
    this.#wake();
  }

  status(): PrewarmStatus {
    return prewarmStatus({
      limit: this.#config.maxPrewarm,
      desired: this.#desired,
      ready: this.#ready,
      errorOf: (key) => this.#failures.get(key)?.message,
    });
  }

  /**
   * Hands out a ready container of `key` made from the image digest given (the image's digest now),
   * or undefined. Synchronous, so two creates never get the same one. Containers of an older digest
   * (the tag was moved on the node) are never handed out and are replaced.
   */
  take(key: string, imageDigest: string): WarmContainer | undefined {
    const list = this.#ready.get(key);
    let warm: WarmContainer | undefined;
    while (list?.length && !warm) {
      const next = list.shift()!;
      if (next.imageDigest === imageDigest) warm = next;
      else {
        this.#log.info(
          { containerId: next.containerId, key },
          "prewarmed container's image changed; replacing it",
        );
        this.#doomed.push(next);
      }
    }
    if (list?.length === 0) this.#ready.delete(key);
    if (list) this.#revision.bump();
    if (warm) {
      this.#settleUntil = performance.now() + TAKE_SETTLE_MS;
      this.#metrics.countPrewarmTake();
    } else if (list || this.#desired.some((t) => t.key === key)) this.#metrics.countPrewarmMiss();
    this.#wake();
    return warm;
  }

  /**
   * Marks work in flight (a create, a command starting in a sandbox) until the returned function is
   * called; the worker starts no new container meanwhile, for {@link MAX_QUIET_WAIT_MS} at most.
   */
  hold(): () => void {
    this.#busy += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#busy -= 1;
      if (this.#busy === 0) for (const resolve of [...this.#quietWaiters]) resolve();
    };
  }

  /** An init process exited that no sandbox owns: if it was a prewarmed container, it is replaced. */
  containerExited(containerId: string): void {
    if (this.#making?.containerId === containerId) this.#making.dead = true;
    this.#discard(containerId, "prewarmed container's task exited; replacing it");
  }

  /**
   * For a resync (exits may have been missed): the ready containers' tasks, each replaced if it is no
   * longer waiting to start. The container being made is left alone (its task may not exist yet).
   */
  taskChecks(): TaskCheck[] {
    const checks: TaskCheck[] = [];
    for (const list of this.#ready.values()) {
      for (const warm of list) {
        checks.push({
          containerId: warm.containerId,
          observe: (task) => {
            if (task.state !== "created") {
              this.#discard(warm.containerId, `prewarmed container's task is ${task.state}; replacing it`);
            }
          },
        });
      }
    }
    return checks;
  }

  /** Moves a ready container to the removal queue, if it is one. */
  #discard(containerId: string, why: string): void {
    for (const [key, list] of this.#ready) {
      const index = list.findIndex((w) => w.containerId === containerId);
      if (index === -1) continue;
      this.#log.info({ containerId, key }, why);
      this.#doomed.push(...list.splice(index, 1));
      if (list.length === 0) this.#ready.delete(key);
      this.#revision.bump();
      this.#wake();
      return;
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.#dirty = false;
      let outcome: "acted" | "idle" | "failed";
      try {
        outcome = await this.#step(signal);
      } catch (err) {
        // Steps handle their own errors; this keeps the worker alive whatever happens.
        this.#log.error({ err }, "prewarm step failed");
        outcome = "failed";
      }
      if (outcome === "failed") await this.#wakeup.sleep(signal, RETRY_INITIAL_MS);
      else if (outcome === "idle" && !this.#dirty) await this.#wakeup.sleep(signal, this.#untilNextRetry());
    }
  }

  async #step(signal: AbortSignal): Promise<"acted" | "idle" | "failed"> {
    const doomed = this.#doomed.shift();
    if (doomed) return this.#remove(doomed);
    const step = planPrewarm(this.#observe());
    if (!step) return "idle";
    if (step.action === "remove") {
      const warm = this.#ready.get(step.key)?.pop();
      if (this.#ready.get(step.key)?.length === 0) this.#ready.delete(step.key);
      this.#revision.bump();
      return warm ? this.#remove(warm) : "acted";
    }
    await this.#quiet(signal);
    // Takes and PUTs may have changed the picture while we waited.
    const now = planPrewarm(this.#observe());
    const template = now?.action === "create" && this.#desired.find((t) => t.key === now.key);
    if (!template || signal.aborted) return "acted";
    await this.#make(template);
    return "acted";
  }

  async #make(template: PrewarmTemplate): Promise<void> {
    const containerId = newPrewarmContainerId(template.key);
    const logPath = path.join(this.#config.logDir, `${containerId}.log`);
    const making = { containerId, dead: false };
    this.#making = making;
    const started = performance.now();
    let network: Awaited<ReturnType<AgentNetworks["forContainer"]>> | undefined;
    try {
      const image = await this.#images.resolve(template.image);
      network = await this.#networks.forContainer(this.#config.sandboxNetwork.defaultMode);
      const warm: WarmContainer = {
        containerId,
        key: template.key,
        image: template.image,
        imageDigest: image.digest,
        logPath,
        network: network.identity,
      };
      const oci = buildSandboxOciSpec(
        templateSandboxSpec(template, containerId),
        image.config,
        specContextOf(this.#config, this.#tools?.busyboxPath),
        network.spec,
      );
      await this.#runtime.create({
        id: containerId,
        image,
        spec: oci,
        labels: prewarmLabels(warm, {
          agentId: this.#config.agentId,
          pool: this.#config.pool,
          createdAt: new Date(this.#now()),
        }),
        logPath,
        start: false,
        ...(this.#config.runtime === "gvisor" && this.#config.runscBinary
          ? { runtimeBinary: this.#config.runscBinary }
          : {}),
      });
      this.#failures.delete(template.key);
      if (making.dead) this.#doomed.push(warm);
      else this.#readyList(template.key).push(warm);
      this.#revision.bump();
      this.#log.debug(
        { containerId, key: template.key, ms: Math.round(performance.now() - started) },
        "prewarmed container ready",
      );
    } catch (err) {
      await rm(logPath, { force: true }).catch(() => {});
      await this.#networks.release(network?.identity).catch(() => {});
      const inARow = (this.#failures.get(template.key)?.inARow ?? 0) + 1;
      const backoff = Math.min(RETRY_MAX_MS, RETRY_INITIAL_MS * 2 ** (inARow - 1));
      const message = err instanceof Error ? err.message : String(err);
      this.#failures.set(template.key, { message, inARow, retryAt: this.#now() + backoff });
      this.#revision.bump();
      this.#metrics.countPrewarmFailure();
      this.#log.warn(
        { err, key: template.key, image: template.image, retryInMs: backoff },
        "could not make a prewarmed container",
      );
    } finally {
      this.#making = undefined;
    }
  }

  async #remove(warm: WarmContainer): Promise<"acted" | "failed"> {
    try {
      await this.#runtime.delete(warm.containerId, { gracePeriodMs: 0 });
      await rm(warm.logPath, { force: true });
      await this.#networks.release(warm.network);
      return "acted";
    } catch (err) {
      this.#log.warn(
        { err, containerId: warm.containerId },
        "could not remove a prewarmed container; retrying",
      );
      this.#doomed.push(warm);
      return "failed";
    }
  }

  #observe() {
    const now = this.#now();
    return {
      pushed: this.#pushed,
      desired: this.#desired.map((t) => ({
        key: t.key,
        count: t.count,
        waiting: (this.#failures.get(t.key)?.retryAt ?? 0) > now,
      })),
      ready: new Map([...this.#ready].map(([key, list]) => [key, list.length])),
    };
  }

  /** Time until the earliest back-off of a desired template ends, or undefined if none is waiting. */
  #untilNextRetry(): number | undefined {
    const now = this.#now();
    let next: number | undefined;
    for (const t of this.#desired) {
      const retryAt = this.#failures.get(t.key)?.retryAt;
      if (retryAt !== undefined && retryAt > now)
        next = Math.min(next ?? Number.POSITIVE_INFINITY, retryAt - now);
    }
    return next;
  }

  #readyList(key: string): WarmContainer[] {
    let list = this.#ready.get(key);
    if (!list) {
      list = [];
      this.#ready.set(key, list);
    }
    return list;
  }

  #wake(): void {
    this.#dirty = true;
    this.#wakeup.wake();
  }

  /**
   * Resolves when nothing is held and a taken container's settle time is over, after
   * {@link MAX_QUIET_WAIT_MS} at most, or on abort.
   */
  async #quiet(signal: AbortSignal): Promise<void> {
    const deadline = performance.now() + MAX_QUIET_WAIT_MS;
    for (;;) {
      const now = performance.now();
      if (signal.aborted || now >= deadline) return;
      if (this.#busy > 0) await this.#released(signal, deadline - now);
      else if (now < this.#settleUntil)
        await sleep(systemClock, Math.min(this.#settleUntil, deadline) - now, signal);
      else return;
    }
  }

  /** Resolves when the last hold is released, after `ms`, or on abort. */
  async #released(signal: AbortSignal, ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#quietWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#quietWaiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

/** Keeps the agent's shim anchor running: the container that holds the agent's shared runc shim up. */
import { anchorContainerId, isAnchorContainer, Labels, managedByValue } from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { ContainerRuntime, ContainerStatus, TaskEvent } from "../containerd/container-runtime.ts";
import { Wakeup } from "../core/wakeup.ts";
import type { AgentConfig } from "./agent-config.ts";
import { prepareAnchorRootfs } from "./anchor-rootfs.ts";
import { anchorLabels, buildAnchorSpec } from "./anchor-spec.ts";
import type { TaskCheck } from "./task-resync.ts";

/** First wait after a failed create; it doubles with each failure in a row, up to the max. */
const RETRY_INITIAL_MS = 500;
/** A broken node (no busybox, containerd down) is retried this often at most, and logged each time. */
const RETRY_MAX_MS = 30_000;
/**
 * The most a stop waits to remove the anchor (a list and a delete, ~50 ms here): a stuck containerd
 * must not hold the agent's exit; the janitor removes an anchor left behind once the agent is gone.
 */
const REMOVE_AT_STOP_TIMEOUT_MS = 5000;

/** Options of {@link ShimAnchor}. */
export interface ShimAnchorOptions {
  config: Pick<AgentConfig, "agentId" | "anchorDir">;
  runtime: ContainerRuntime;
  logger: Logger;
}

/**
 * All of an agent's containers share one runc shim (the shim-group annotation), and that shim exits
 * with the last container of its group. A create racing that exit fails ("failed to start shim …
 * no such file or directory"), and the first create on an idle agent pays a shim start. The anchor,
 * a pause-like container made at start-up, is always the group's last container, so neither
 * happens. It is no sandbox: no slot, never in status, list, metrics or the prewarm pool.
 *
 * One worker owns every containerd call about it: it makes the anchor (removing a dead one first)
 * whenever it is not known to run, retrying with back-off; an exit event or a resync that finds it
 * not running wakes it. A create failure is logged, never thrown: without its anchor the agent works,
 * only slower on an idle shim.
 */
export class ShimAnchor {
  readonly containerId: string;
  readonly #config: ShimAnchorOptions["config"];
  readonly #runtime: ContainerRuntime;
  readonly #log: Logger;
  /** The pid of the anchor's process while it is known to run; undefined when it must be (re)made. */
  #pid: number | undefined;
  #failures = 0;
  /** Pids of anchor exits seen while a create is in flight: the new anchor may die before its create answers. */
  #exitedWhileMaking: Set<number> | undefined;
  readonly #wakeup = new Wakeup();
  readonly #stop = new AbortController();
  #worker: Promise<void> | undefined;

  constructor(options: ShimAnchorOptions) {
    this.#config = options.config;
    this.#runtime = options.runtime;
    this.#log = options.logger.child({ component: "shim-anchor" });
    this.containerId = anchorContainerId(options.config.agentId);
  }

  /** Whether the anchor is known to run now. */
  get running(): boolean {
    return this.#pid !== undefined;
  }

  /**
   * Takes over the anchor a previous run of this agent left (found among the agent's containers at
   * start-up): kept if its task runs, so a restart pays no shim start; otherwise the worker replaces it.
   */
  adopt(found: ContainerStatus | undefined): void {
    if (!found || !isAnchorContainer(found.labels, found.id) || found.id !== this.containerId) return;
    if (found.task.state === "running") {
      this.#pid = found.task.pid;
      this.#log.info(
        { containerId: found.id, pid: found.task.pid },
        "adopted the shim anchor of a previous run",
      );
    } else {
      this.#log.info({ containerId: found.id, taskState: found.task.state }, "replacing a dead shim anchor");
    }
  }

  /** Makes the anchor if none runs (the first attempt is awaited, so it precedes readiness), then keeps it. */
  async start(): Promise<void> {
    if (this.#pid === undefined) await this.#make();
    this.#worker ??= this.#run(this.#stop.signal);
  }

  /** Applies a task event about the anchor; false if it is about another container. */
  handleEvent(event: TaskEvent): boolean {
    if (event.containerId !== this.containerId) return false;
    if (event.kind !== "exit") return true;
    this.#exitedWhileMaking?.add(event.pid);
    // An exit of an anchor already replaced (its pid differs) changes nothing.
    if (event.pid === this.#pid) {
      this.#log.warn(
        { pid: event.pid, exitCode: event.exitCode },
        "the shim anchor exited; making a new one",
      );
      this.#broken();
    }
    return true;
  }

  /** For a resync: the anchor's task, if it is believed to run. */
  taskChecks(): TaskCheck[] {
    const pid = this.#pid;
    if (pid === undefined) return [];
    return [
      {
        containerId: this.containerId,
        pid,
        observe: (task) => {
          if (this.#pid !== pid || (task.state === "running" && task.pid === pid)) return;
          this.#log.warn(
            { pid, taskState: task.state },
            "resync found the shim anchor not running; making a new one",
          );
          this.#broken();
        },
      },
    ];
  }

  /**
   * Stops the worker. With `removeIfAlone`, the anchor goes too when it is the agent's last container
   * (no sandbox, no prewarmed container): the agent was drained to be stopped for good, and nothing
   * should outlive it. A restart then makes a new anchor during start-up, before it serves, so no
   * create pays for the shim start. While anything of the agent's remains, the anchor stays, as
   * those keep the shim alive anyway and a restarted agent adopts it. (The agent, not the janitor,
   * decides this: only the agent knows it stops, and the janitor acts only after its orphan timeout,
   * and only while it can read ownership; it still removes the anchor of an agent killed for good.)
   */
  async stop(options: { removeIfAlone: boolean }): Promise<void> {
    this.#stop.abort();
    // A create in flight may be stuck on containerd; it is not waited for, and what it makes is
    // adopted by the next start or removed by the janitor.
    if (this.#exitedWhileMaking !== undefined) return;
    await this.#worker;
    if (!options.removeIfAlone) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), REMOVE_AT_STOP_TIMEOUT_MS);
    });
    try {
      const outcome = await Promise.race([this.#removeIfAlone(), timedOut]);
      if (outcome === "timeout") {
        this.#log.warn(
          { timeoutMs: REMOVE_AT_STOP_TIMEOUT_MS },
          "containerd did not answer; leaving the shim anchor to the janitor",
        );
      }
    } catch (err) {
      this.#log.warn(
        { err },
        "could not remove the shim anchor at stop; the janitor removes it once the agent is gone",
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async #removeIfAlone(): Promise<"done"> {
    const others = (
      await this.#runtime.listContainers({
        [Labels.ManagedBy]: managedByValue,
        [Labels.Agent]: this.#config.agentId,
      })
    ).filter((c) => c.id !== this.containerId);
    if (others.length > 0) return "done";
    await this.#runtime.delete(this.containerId, { gracePeriodMs: 0 });
    this.#pid = undefined;
    this.#log.info("removed the shim anchor: the agent stops with nothing left");
    return "done";
  }

  #broken(): void {
    this.#pid = undefined;
    this.#wakeup.wake();
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.#pid !== undefined) await this.#wakeup.sleep(signal);
      else if (this.#failures > 0) await this.#wakeup.sleep(signal, this.#backoffMs());
      if (signal.aborted) return;
      if (this.#pid === undefined) await this.#make();
    }
  }

  /** Removes whatever is left of an earlier anchor, then makes and starts a new one. Never throws. */
  async #make(): Promise<void> {
    const started = performance.now();
    this.#exitedWhileMaking = new Set();
    try {
      await this.#runtime.delete(this.containerId, { gracePeriodMs: 0 });
      const rootfs = await prepareAnchorRootfs(this.#config.anchorDir);
      const { pid } = await this.#runtime.createFromHostDir({
        id: this.containerId,
        spec: buildAnchorSpec(this.#config.agentId, rootfs),
        labels: anchorLabels(this.#config.agentId, new Date()),
      });
      if (this.#exitedWhileMaking.has(pid)) {
        this.#failures += 1;
        this.#log.error({ pid, retryInMs: this.#backoffMs() }, "the new shim anchor exited at once");
        return;
      }
      this.#failures = 0;
      this.#pid = pid;
      this.#log.info({ pid, ms: Math.round(performance.now() - started) }, "shim anchor running");
    } catch (err) {
      this.#failures += 1;
      this.#log.error(
        { err, failures: this.#failures, retryInMs: this.#backoffMs() },
        "could not make the shim anchor; creates may pay a shim start or race its exit until it runs",
      );
    } finally {
      this.#exitedWhileMaking = undefined;
    }
  }

  #backoffMs(): number {
    return Math.min(RETRY_MAX_MS, RETRY_INITIAL_MS * 2 ** Math.max(0, this.#failures - 1));
  }
}

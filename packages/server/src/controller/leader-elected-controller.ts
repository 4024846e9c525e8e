/** fsb-controller with leader election: every replica campaigns for the Lease; only the holder runs the Controller. */
import type { Logger } from "pino";
import { type Runnable, RunnableManager, step } from "../core/runnable.ts";
import { LeaderElector, type LeaseClient } from "../kube/leader-elector.ts";
import type { Controller } from "./controller.ts";
import type { ControllerConfig } from "./controller-config.ts";
import { startFollowerApi } from "./follower-api.ts";

export interface LeaderElectedControllerOptions {
  config: ControllerConfig;
  /** The Lease (KubeLeaseClient on `config.leaderElectionNamespace`/`leaderElectionId`). */
  lease: LeaseClient;
  identity: string;
  /** Builds the Controller when this replica becomes leader (a fresh one: its state is the leader's alone). */
  controller: () => Controller;
  logger: Logger;
  /** Called when leadership is lost while running; the process exits so that it restarts clean. */
  onLostLeadership: () => void;
}

/**
 * Followers serve probes (live, not ready) and an API that answers UNAVAILABLE naming the leader.
 * On winning the Lease the follower servers close and the Controller starts on the same ports; it
 * rebuilds its registry from the store and the agents, as after any restart. Losing the Lease
 * stops the Controller and ends the process, as controller-runtime does: a replica that may have
 * missed events must not go on as if it had not. A RunnableManager starts the follower API, then
 * the campaign; stop ends the campaign first (stopping the Controller, then releasing the Lease so
 * another replica takes over at once), then the follower API if it still serves.
 */
export class LeaderElectedController implements Runnable {
  readonly #o: LeaderElectedControllerOptions;
  readonly #manager: RunnableManager;
  #follower: { stop(): Promise<void> } | undefined;
  #controller: Controller | undefined;
  #elector: LeaderElector | undefined;

  constructor(options: LeaderElectedControllerOptions) {
    this.#o = options;
    this.#manager = new RunnableManager({
      onStopError: (part, err) =>
        options.logger.error({ part, err }, "stopping a part of the controller failed"),
    })
      .add(
        "follower api",
        step(
          () => this.#startFollower(),
          () => this.#stopFollower(),
        ),
      )
      .add("leader election", this.#campaign());
  }

  start(signal?: AbortSignal): Promise<void> {
    return this.#manager.start(signal);
  }

  /** Stops the Controller (if leading), then releases the Lease so another replica takes over at once. */
  stop(): Promise<void> {
    return this.#manager.stop();
  }

  async #startFollower(): Promise<void> {
    const { config } = this.#o;
    this.#follower = await startFollowerApi({
      api: config.api,
      health: config.health,
      token: config.token,
      // As last read from the Lease: followers read it every retry period.
      leader: () => this.#elector?.holder || undefined,
    });
  }

  /** Stops the follower servers once: on becoming leader, or at the end if this replica never led. */
  async #stopFollower(): Promise<void> {
    const follower = this.#follower;
    this.#follower = undefined;
    await follower?.stop();
  }

  /** The elector's loop: it runs until its signal aborts, then steps down and releases the Lease. */
  #campaign(): Runnable {
    const { config, logger } = this.#o;
    let running: Promise<void> | undefined;
    return {
      start: async (signal) => {
        const elector = new LeaderElector({
          client: this.#o.lease,
          identity: this.#o.identity,
          leaseDurationMs: config.leaseDurationMs,
          renewDeadlineMs: config.renewDeadlineMs,
          retryPeriodMs: config.retryPeriodMs,
          logger: { info: (obj, msg) => logger.info(obj, msg), warn: (obj, msg) => logger.warn(obj, msg) },
          onStartedLeading: (leading) => void this.#lead(leading),
          // The campaign's signal aborts only when this replica stops: then stepping down is no loss.
          onStoppedLeading: () => this.#stepDown(signal.aborted),
        });
        logger.info(
          {
            identity: this.#o.identity,
            lease: `${config.leaderElectionNamespace}/${config.leaderElectionId}`,
          },
          "campaigning for leadership",
        );
        this.#elector = elector;
        running = elector.run(signal);
      },
      stop: async () => {
        await running;
        await this.#controller?.stop();
      },
    };
  }

  async #lead(signal: AbortSignal): Promise<void> {
    const { logger } = this.#o;
    logger.info({ identity: this.#o.identity }, "became leader; starting the controller");
    await this.#stopFollower();
    if (signal.aborted) return;
    const controller = this.#o.controller();
    this.#controller = controller;
    try {
      await controller.start();
    } catch (err) {
      logger.fatal({ err }, "controller failed to start as leader");
      this.#o.onLostLeadership();
    }
  }

  async #stepDown(stopping: boolean): Promise<void> {
    await this.#controller?.stop();
    this.#controller = undefined;
    if (!stopping) {
      this.#o.logger.error(
        { identity: this.#o.identity },
        "lost leadership; exiting to restart as a follower",
      );
      this.#o.onLostLeadership();
    }
  }
}

/** fsb-controller with leader election: every replica campaigns for the Lease; only the holder runs the Controller. */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { KubeLeaseClient } from "../kube/kube-lease-client.ts";
import { LeaderElector } from "../kube/leader-elector.ts";
import type { Controller } from "./controller.ts";
import type { ControllerConfig } from "./controller-config.ts";
import { startFollowerApi } from "./follower-api.ts";

export interface LeaderElectedControllerOptions {
  config: ControllerConfig;
  kubeConfig: KubeConfig;
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
 * missed events must not go on as if it had not.
 */
export class LeaderElectedController {
  readonly #o: LeaderElectedControllerOptions;
  readonly #abort = new AbortController();
  #elector: LeaderElector | undefined;
  #running: Promise<void> | undefined;
  #follower: { stop(): Promise<void> } | undefined;
  #controller: Controller | undefined;
  #leaderName: string | undefined;
  #stopping = false;

  constructor(options: LeaderElectedControllerOptions) {
    this.#o = options;
  }

  async start(): Promise<void> {
    const { config, logger } = this.#o;
    this.#follower = await startFollowerApi({
      api: config.api,
      health: config.health,
      token: config.token,
      leader: () => this.#leaderName,
    });
    const client = new KubeLeaseClient(this.#o.kubeConfig, {
      namespace: config.leaderElectionNamespace,
      name: config.leaderElectionId,
    });
    this.#elector = new LeaderElector({
      client,
      identity: this.#o.identity,
      logger: { info: (obj, msg) => logger.info(obj, msg), warn: (obj, msg) => logger.warn(obj, msg) },
      onStartedLeading: (signal) => void this.#lead(signal),
      onStoppedLeading: async () => {
        await this.#controller?.stop();
        this.#controller = undefined;
        if (!this.#stopping) {
          logger.error({ identity: this.#o.identity }, "lost leadership; exiting to restart as a follower");
          this.#o.onLostLeadership();
        }
      },
    });
    logger.info(
      { identity: this.#o.identity, lease: `${config.leaderElectionNamespace}/${config.leaderElectionId}` },
      "campaigning for leadership",
    );
    this.#running = this.#elector.run(this.#abort.signal);
  }

  async #lead(signal: AbortSignal): Promise<void> {
    const { logger } = this.#o;
    this.#leaderName = this.#o.identity;
    logger.info({ identity: this.#o.identity }, "became leader; starting the controller");
    await this.#follower?.stop();
    this.#follower = undefined;
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

  /** Stops the Controller (if leading), then releases the Lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    await this.#running;
    await this.#controller?.stop();
    await this.#follower?.stop();
  }
}

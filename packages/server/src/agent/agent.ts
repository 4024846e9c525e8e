/** The node agent as one runnable: containerd client, sandbox manager and HTTP API, wired together. */
import type http from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { ContainerdConnection } from "../containerd/connection.ts";
import { ContainerRuntime } from "../containerd/container-runtime.ts";
import { fromContainerdError } from "../containerd/errors.ts";
import { ImageResolver } from "../containerd/image-resolver.ts";
import type { AgentConfig } from "./agent-config.ts";
import { AgentMetrics } from "./agent-metrics.ts";
import { keepRegistered, registrationFor } from "./controller-registration.ts";
import { createAgentServer } from "./http-api.ts";
import { PrewarmPool } from "./prewarm-pool.ts";
import { SandboxManager } from "./sandbox-manager.ts";

/**
 * Start-up order: reach containerd, adopt the sandboxes (and prewarmed containers) it already runs,
 * follow exits, start refilling, then serve. Stopping serves no more requests, lets in-flight creates
 * and the prewarm worker's current step finish, but leaves sandboxes running and prewarmed
 * containers waiting: a restarted agent adopts them again.
 */
export class Agent {
  readonly config: AgentConfig;
  readonly manager: SandboxManager;
  readonly prewarm: PrewarmPool;
  readonly #log: Logger;
  readonly #server: http.Server;
  readonly #conn: ContainerdConnection;
  readonly #exitWatch = new AbortController();
  #watching: Promise<void> | undefined;
  #registering: Promise<void> | undefined;
  #ready = false;

  constructor(config: AgentConfig, logger: Logger) {
    this.config = config;
    this.#log = logger;
    this.#conn = new ContainerdConnection({
      socketPath: config.containerdSocket,
      namespace: config.containerdNamespace,
    });
    const runtime = new ContainerRuntime(this.#conn, { snapshotter: config.snapshotter });
    const images = new ImageResolver(this.#conn);
    let manager: SandboxManager | undefined;
    let prewarm: PrewarmPool | undefined;
    const metrics = new AgentMetrics({
      capacity: () => config.capacity,
      allocated: () => manager?.allocated ?? 0,
      prewarmReady: () => prewarm?.readyCount ?? 0,
    });
    prewarm = new PrewarmPool({ config, runtime, images, logger, metrics });
    manager = new SandboxManager({ config, runtime, images, logger, metrics, prewarm });
    this.prewarm = prewarm;
    this.manager = manager;
    this.#server = createAgentServer({
      config,
      manager,
      prewarm,
      images,
      metrics,
      logger,
      ready: () => this.#ready,
    });
  }

  /** The port the API is bound to. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    const version = await this.#conn.version.version({}, { timeoutMs: 5000 }).catch((err: unknown) => {
      throw fromContainerdError(err, `connect to ${this.config.containerdSocket}`);
    });
    this.#log.info(
      { containerd: version.version, socket: this.config.containerdSocket },
      "containerd reachable",
    );
    await this.manager.adopt();
    this.#watching = this.manager.watchExits(this.#exitWatch.signal);
    this.prewarm.start();
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.config.httpPort, this.config.listenAddress, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    this.#ready = true;
    if (this.config.controllerUrl) {
      this.#registering = keepRegistered(
        this.config.controllerUrl,
        this.config.controllerToken,
        registrationFor(this.config, this.port),
        this.#log,
        this.#exitWatch.signal,
      );
    }
    this.#log.info(
      {
        agentId: this.config.agentId,
        port: this.port,
        capacity: this.config.capacity,
        runtime: this.config.runtime,
      },
      "agent serving",
    );
  }

  async stop(): Promise<void> {
    this.#ready = false;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // Log followers hold connections open; they end when their sockets close.
    this.#server.closeAllConnections();
    await this.manager.drain();
    await this.prewarm.stop();
    this.#exitWatch.abort();
    await this.#watching;
    await this.#registering;
    await closed;
    this.#conn.close();
  }
}

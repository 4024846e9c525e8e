/** The node agent as one runnable: containerd client, sandbox manager and HTTP API, wired together. */
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { Labels, managedByValue } from "@fast-sandbox/api";
import type { Logger } from "pino";
import { ContainerdConnection } from "../containerd/connection.ts";
import { ContainerRuntime, type TaskEvent } from "../containerd/container-runtime.ts";
import { fromContainerdError } from "../containerd/errors.ts";
import { ImageResolver } from "../containerd/image-resolver.ts";
import { TaskProcesses } from "../containerd/task-processes.ts";
import { loop, type Runnable, RunnableManager, step } from "../core/runnable.ts";
import type { AgentConfig } from "./agent-config.ts";
import { AgentMetrics } from "./agent-metrics.ts";
import { AgentNetworks } from "./agent-networks.ts";
import { keepRegistered, registrationFor } from "./controller-registration.ts";
import { ExecEngine } from "./exec-engine.ts";
import { FifoMaker, fifoDirOf } from "./exec-fifos.ts";
import { createAgentServer } from "./http-api.ts";
import { ImageCatalog } from "./image-catalog.ts";
import { PrewarmPool } from "./prewarm-pool.ts";
import { SandboxManager } from "./sandbox-manager.ts";
import { SandboxTools } from "./sandbox-tools.ts";
import { ShimAnchor } from "./shim-anchor.ts";
import { StatusRevision } from "./status-revision.ts";
import { listOwnContainers, type ResyncReport, TaskResync } from "./task-resync.ts";
import { TaskWatch } from "./task-watch.ts";

/** How long start-up waits for containerd's version before it gives up. */
const CONTAINERD_REACH_TIMEOUT_MS = 5000;

/**
 * Start-up order: reach containerd, adopt the sandboxes (and prewarmed containers, and the shim
 * anchor) it already runs, make the anchor if none runs, read the image list, follow task events
 * and resync, start refilling, then serve. Stopping serves no more requests, lets in-flight creates
 * and the prewarm worker's current step finish, but leaves sandboxes running and prewarmed
 * containers waiting: a restarted agent adopts them again (the anchor goes only with the last of them).
 */
export class Agent implements Runnable {
  readonly config: AgentConfig;
  readonly manager: SandboxManager;
  readonly prewarm: PrewarmPool;
  readonly anchor: ShimAnchor;
  readonly exec: ExecEngine;
  readonly #networks: AgentNetworks;
  readonly #tools: SandboxTools;
  readonly #log: Logger;
  readonly #server: http.Server;
  readonly #conn: ContainerdConnection;
  readonly #runtime: ContainerRuntime;
  readonly #catalog: ImageCatalog;
  readonly #watch: TaskWatch;
  readonly #resyncer: TaskResync;
  readonly #parts = new RunnableManager();

  constructor(config: AgentConfig, logger: Logger) {
    this.config = config;
    this.#log = logger;
    this.#conn = new ContainerdConnection({
      socketPath: config.containerdSocket,
      namespace: config.containerdNamespace,
    });
    const runtime = new ContainerRuntime(this.#conn, { snapshotter: config.snapshotter });
    this.#runtime = runtime;
    const images = new ImageResolver(this.#conn);
    const revision = new StatusRevision();
    let manager: SandboxManager | undefined;
    let prewarm: PrewarmPool | undefined;
    let exec: ExecEngine | undefined;
    const networks = new AgentNetworks({
      agentId: config.agentId,
      pool: config.pool,
      config: config.sandboxNetwork,
      logger,
    });
    const metrics = new AgentMetrics({
      capacity: () => config.capacity,
      allocated: () => manager?.allocated ?? 0,
      prewarmReady: () => prewarm?.readyCount ?? 0,
      execRunning: () => exec?.runningCount ?? 0,
      execBufferedBytes: () => exec?.bufferedBytes ?? 0,
      deniedConnections: () => networks.deniedCounts(),
      netnsReady: () => networks.readyCount,
    });
    this.#catalog = new ImageCatalog({ images, logger, revision });
    const tools = new SandboxTools(config.anchorDir, logger);
    this.#tools = tools;
    this.#networks = networks;
    prewarm = new PrewarmPool({ config, runtime, images, logger, metrics, revision, tools, networks });
    manager = new SandboxManager({
      networks,
      config,
      runtime,
      images,
      logger,
      metrics,
      prewarm,
      catalog: this.#catalog,
      revision,
      tools,
    });
    exec = new ExecEngine({
      processes: new TaskProcesses(this.#conn),
      fifos: new FifoMaker(fifoDirOf(config.anchorDir, config.agentId)),
      sandboxes: manager,
      maxProcesses: config.maxProcesses,
      logger,
      busy: () => holdAll([prewarm.hold(), networks.hold()]),
    });
    this.exec = exec;
    this.prewarm = prewarm;
    this.manager = manager;
    this.anchor = new ShimAnchor({ config, runtime, logger });
    this.#resyncer = new TaskResync(runtime, this.#ownLabels());
    this.#watch = new TaskWatch({
      runtime,
      logger,
      metrics,
      intervalMs: config.resyncIntervalMs,
      onEvent: (event) => this.#route(event),
      resync: () => this.#resync(),
    });
    this.#server = createAgentServer({
      config,
      manager,
      prewarm,
      exec: this.exec,
      catalog: this.#catalog,
      revision,
      metrics,
      logger,
      ready: () => this.#ready,
    });
  }

  /** The port the API is bound to. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get #ready(): boolean {
    return this.#parts.ready;
  }

  async start(signal?: AbortSignal): Promise<void> {
    const parts = this.#parts
      .add(
        "containerd",
        // Stopped last, after every create and delete: the sandbox networks (opened by adoption or
        // the first isolated create) close here too.
        step(
          () => this.#reachContainerd(),
          async () => {
            await this.#networks.close().finally(() => this.#conn.close());
          },
        ),
      )
      .add(
        "sandbox tools",
        step(() => this.#tools.start()),
      )
      .add(
        "shim anchor",
        step(
          () => this.anchor.start(),
          () => this.anchor.stop({ removeIfAlone: true }),
        ),
      )
      .add(
        "image catalog",
        step(
          () => this.#catalog.start(),
          () => this.#catalog.stop(),
        ),
      )
      .add(
        "task watch",
        step(
          () => this.#watch.start(),
          () => this.#watch.stop(),
        ),
      )
      .add(
        "prewarm pool",
        step(
          () => this.prewarm.start(),
          () => this.prewarm.stop(),
        ),
      )
      .add(
        "exec engine",
        step(
          () => this.exec.start(),
          () => this.exec.stop(),
        ),
      )
      .add(
        "http api",
        step(
          () => this.#listen(),
          () => this.#closeServer(),
        ),
      );
    const { controllerUrl, controllerToken } = this.config;
    if (controllerUrl) {
      const registration = () => registrationFor(this.config, this.port);
      parts.add(
        "registration",
        loop((s) => keepRegistered(controllerUrl, controllerToken, registration(), this.#log, s)),
      );
    }
    await parts.start(signal);
    this.#log.info(
      {
        agentId: this.config.agentId,
        port: this.port,
        capacity: this.config.capacity,
        runtime: this.config.runtime,
        anchor: this.anchor.running,
      },
      "agent serving",
    );
  }

  /** Serves no more requests, lets in-flight creates finish, then stops the rest in reverse start order. */
  stop(): Promise<void> {
    return this.#parts.stop();
  }

  /** Reaches containerd, then adopts what it already runs of this agent (the anchor, sandboxes, prewarmed ones). */
  async #reachContainerd(): Promise<void> {
    const version = await this.#conn.version
      .version({}, { timeoutMs: CONTAINERD_REACH_TIMEOUT_MS })
      .catch((err: unknown) => {
        throw fromContainerdError(err, `connect to ${this.config.containerdSocket}`);
      });
    this.#log.info(
      { containerd: version.version, socket: this.config.containerdSocket },
      "containerd reachable",
    );
    const found = await listOwnContainers(this.#runtime, this.#ownLabels());
    this.anchor.adopt(found.find((c) => c.id === this.anchor.containerId));
    await this.manager.adopt(found.filter((c) => c.id !== this.anchor.containerId));
  }

  #listen(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.config.httpPort, this.config.listenAddress, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
  }

  async #closeServer(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // Exec streams end with an error line (and their processes are killed) before connections close.
    await this.exec.stop();
    // Log followers hold connections open; they end when their sockets close.
    this.#server.closeAllConnections();
    await this.manager.drain();
    await closed;
  }

  /** An event goes to the anchor, a sandbox, or else the prewarm pool (which ignores other agents'). */
  #route(event: TaskEvent): void {
    if (this.anchor.handleEvent(event) || this.manager.handleEvent(event)) return;
    if (event.kind === "exit") this.prewarm.containerExited(event.containerId);
  }

  /** One resync: the tasks of running sandboxes, ready prewarmed containers and the anchor. */
  #resync(): Promise<ResyncReport> {
    const checks = [...this.manager.taskChecks(), ...this.prewarm.taskChecks(), ...this.anchor.taskChecks()];
    return this.#resyncer.run(checks);
  }

  #ownLabels(): Record<string, string> {
    return { [Labels.ManagedBy]: managedByValue, [Labels.Agent]: this.config.agentId };
  }
}

/** One release for several holds. */
function holdAll(releases: ReadonlyArray<() => void>): () => void {
  return () => {
    for (const release of releases) release();
  };
}

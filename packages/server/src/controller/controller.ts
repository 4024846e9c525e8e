/** fsb-controller as one runnable: store, registry, agents, reconcilers and the Fast-Path API, started in order. */
import { objectKey, SandboxPhase, type SandboxPool } from "@fast-sandbox/api";
import { FastPathService } from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { FileService } from "@fast-sandbox/api/gen/fastsandbox/v1/files_pb.ts";
import { SandboxPoolService } from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import { ProcessService } from "@fast-sandbox/api/gen/fastsandbox/v1/process_pb.ts";
import type { Logger } from "pino";
import { type ApiServer, createApiServer } from "../api-server/api-server.ts";
import { loop, type Runnable, RunnableManager, step } from "../core/runnable.ts";
import { PlainHttpServer } from "../http/plain-http-server.ts";
import type { ControllerConfig } from "./controller-config.ts";
import { type ControllerDeps, type ControllerParts, wireController } from "./controller-parts.ts";
import { apiPortRoutes, metricsRoutes, probeRoutes } from "./controller-routes.ts";
import { seedPool } from "./controller-startup.ts";
import { fastPathRpc } from "./fast-path-rpc.ts";
import { fileAccess } from "./files/file-access-wiring.ts";
import { fileRpc } from "./files/file-rpc.ts";
import { fileTransferHandler } from "./files/file-transfer-routes.ts";
import { poolRpc } from "./pool/pool-rpc.ts";
import { processRpc } from "./process/process-rpc.ts";
import { SandboxProcesses } from "./process/sandbox-processes.ts";
import { AgentRegistry } from "./registry/agent-registry.ts";

export type { ControllerDeps } from "./controller-parts.ts";

/** The status round before serving waits this long per agent; one that is slower is probed later. */
const FIRST_STATUS_TIMEOUT_MS = 5000;

/**
 * Start order makes the API honest: it listens only once the registry has been rebuilt from the
 * store and from every agent's status, so the first create after a restart cannot double-allocate.
 * Health answers from the start; /readyz turns 200 when the API does. Stop runs the other way
 * round: the API first (in-flight calls finish within its grace), then the loops, the local
 * agents, the store, and the metrics and health ports last.
 */
export class Controller implements Runnable {
  readonly config: ControllerConfig;
  readonly registry = new AgentRegistry();
  readonly #log: Logger;
  readonly #deps: ControllerDeps;
  readonly #manager: RunnableManager;
  #api: ApiServer | undefined;
  #health: PlainHttpServer | undefined;
  #metricsServer: PlainHttpServer | undefined;

  constructor(config: ControllerConfig, logger: Logger, deps: ControllerDeps = {}) {
    this.config = config;
    this.#log = logger;
    this.#deps = deps;
    this.#manager = new RunnableManager({
      onStopError: (part, err) => logger.error({ part, err }, "stopping a part of the controller failed"),
    });
  }

  get ready(): boolean {
    return this.#manager.ready;
  }

  get apiPort(): number | undefined {
    return this.#api?.address?.port;
  }

  get healthPort(): number | undefined {
    return this.#health?.port;
  }

  get metricsPort(): number | undefined {
    return this.#metricsServer?.port;
  }

  /** Wires the parts, then starts them in order; resolves once the API serves. */
  async start(signal?: AbortSignal): Promise<void> {
    const { config } = this;
    const parts = wireController({
      config,
      log: this.#log,
      deps: this.#deps,
      registry: this.registry,
      ready: () => this.ready,
    });
    this.#health = new PlainHttpServer(
      config.health,
      probeRoutes(() => this.ready, "ready", "starting"),
    );
    this.#metricsServer = new PlainHttpServer(config.metrics, metricsRoutes(parts.metrics.registry));
    this.#api = this.#apiServer(parts);
    const api = this.#api;
    this.#manager
      .add("health", this.#health)
      .add("metrics", this.#metricsServer)
      .add(
        "store",
        step(
          () => {},
          () => parts.store.close(),
        ),
      )
      .add("sandbox informer", sandboxInformer(parts))
      .add(
        "pool informer",
        loop(
          (s) => parts.pools.run(s),
          (s) => this.#syncPools(parts, s),
        ),
      )
      .add(
        "agent launcher",
        step(
          (s) => parts.launcher?.start(s),
          async () => parts.launcher?.stop(),
        ),
      )
      // What the adopted (and brought-back) agents run, before the first pool pass: an agent whose
      // status is not in yet counts as empty, and an empty surplus agent is removed at once, even
      // one that holds the container of a sandbox being deleted.
      .add(
        "first agent status",
        step(() => parts.monitor.probeAll()),
      )
      .add("pool controller", poolStage(parts, this.#log))
      .add("agent monitor", monitorStage(parts))
      .add("sandbox reconciler", reconcileStage(parts, config.workers))
      .add(
        "api",
        step(
          async () => {
            await api.listen(config.api.port, config.api.host || undefined);
            parts.agentReturn.opened();
          },
          () => api.close(),
        ),
      );
    await this.#manager.start(signal);
    this.#log.info(
      {
        api: this.apiPort,
        metrics: this.metricsPort,
        health: this.healthPort,
        agents: parts.monitor.agentIds().length,
        mode: config.consistencyMode,
      },
      "controller ready",
    );
  }

  /** Stops serving, then stops the loops, the local agents and the store, in that order. */
  stop(): Promise<void> {
    return this.#manager.stop();
  }

  async #syncPools(parts: ControllerParts, signal: AbortSignal): Promise<void> {
    await parts.pools.waitForSync(signal);
    if (this.config.seedPool) await seedPool(parts.store, this.config, this.#log);
  }

  #apiServer(parts: ControllerParts): ApiServer {
    const { config } = this;
    const { monitor, fastPath } = parts;
    const plainRoutes = apiPortRoutes({
      token: config.token,
      ready: () => this.ready,
      registry: this.registry,
      agentsSettledAt: () => parts.agentReturn.until,
      register: (registration) => {
        if (monitor.register(registration)) void monitor.probe(registration.agentId);
      },
    });
    const files = fileAccess(parts.fastPath, monitor);
    const transfers = fileTransferHandler({
      token: config.token,
      access: files,
      onServerError: (err) => this.#log.error({ err }, "internal error in a file transfer"),
    });
    return createApiServer({
      routes: (router) => {
        router.service(FastPathService, fastPathRpc(parts.fastPath));
        router.service(SandboxPoolService, poolRpc(parts.poolApi));
        const processes = new SandboxProcesses({
          getSandbox: (namespace, name) => fastPath.get(namespace, name),
          agent: (agentId) => monitor.client(agentId),
        });
        router.service(ProcessService, processRpc(processes));
        router.service(FileService, fileRpc(files));
      },
      ...(config.token ? { token: config.token } : { insecure: true }),
      logError: (err, context) => this.#log.error({ err, ...context }, "internal error in an API call"),
      extraHttpHandler: async (req, res) => (await transfers(req, res)) || plainRoutes.serve(req, res),
    });
  }
}

/** The store's view: every Sandbox, and the slots their containers hold (restored into the registry). */
function sandboxInformer({ sandboxes, queue, registry }: ControllerParts): Runnable {
  const enqueue = (s: { metadata: { namespace: string; name: string } }) =>
    queue.add(objectKey(s.metadata.namespace, s.metadata.name));
  sandboxes.addHandlers({ onAdd: enqueue, onUpdate: (_old, s) => enqueue(s), onDelete: enqueue });
  return loop(
    (signal) => sandboxes.run(signal),
    async (signal) => {
      await sandboxes.waitForSync(signal);
      for (const s of sandboxes.list()) {
        const { assignedAgent, sandboxID, phase } = s.status ?? {};
        if (assignedAgent && sandboxID && (phase === SandboxPhase.Bound || phase === SandboxPhase.Running)) {
          registry.restore(sandboxID, { agentId: assignedAgent, ports: s.spec.exposedPorts ?? [] });
        }
      }
    },
  );
}

/**
 * One pass per pool before serving, so the first agents are on their way (or adopted); then the
 * pool queue. The API does not wait for those agents to answer: a Pod may stay Pending for minutes,
 * and agents that register themselves can do so only once the API serves. A create meanwhile waits
 * for them within its deadline (room-wait.ts), as it does whenever a pool grows.
 */
function poolStage(parts: ControllerParts, log: Logger): Runnable {
  const { pools, poolQueue, poolController, registry } = parts;
  let running: Promise<void> | undefined;
  return {
    async start(signal) {
      const enqueuePool = (p: SandboxPool) => poolQueue.add(objectKey(p.metadata.namespace, p.metadata.name));
      pools.addHandlers({ onAdd: enqueuePool, onUpdate: (_old, p) => enqueuePool(p), onDelete: enqueuePool });
      const keys = new Set(pools.list().map((p) => objectKey(p.metadata.namespace, p.metadata.name)));
      for (const ref of registry.pools()) keys.add(objectKey(ref.namespace, ref.pool));
      for (const key of keys) {
        await poolController
          .reconcile(key)
          .catch((err: unknown) => log.warn({ pool: key, err }, "first pool pass failed"));
      }
      running = poolQueue.run(2, (key) => poolController.reconcile(key), signal);
      for (const key of keys) poolQueue.add(key);
    },
    async stop() {
      await running;
    },
  };
}

/** Every agent's status once more (bounded per agent), then the monitor's probe loop. */
function monitorStage({ monitor }: ControllerParts): Runnable {
  let running: Promise<void> | undefined;
  return {
    async start(signal) {
      await monitor.probeAll(FIRST_STATUS_TIMEOUT_MS);
      running = monitor.run(signal);
    },
    async stop() {
      await running;
    },
  };
}

/** The sandbox reconciler's workers, with every Sandbox queued once before the API serves. */
function reconcileStage({ queue, reconciler, sandboxes }: ControllerParts, workers: number): Runnable {
  let running: Promise<void> | undefined;
  return {
    async start(signal) {
      running = queue.run(workers, (key) => reconciler.reconcile(key), signal);
      for (const s of sandboxes.list()) queue.add(objectKey(s.metadata.namespace, s.metadata.name));
    },
    async stop() {
      await running;
    },
  };
}

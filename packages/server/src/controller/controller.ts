/** fsb-controller as one runnable: store, registry, agents, reconciler and the Fast-Path API, started in order. */
import path from "node:path";
import {
  objectKey,
  POOL_KIND,
  SANDBOX_KIND,
  type Sandbox,
  SandboxPhase,
  type SandboxPool,
} from "@fast-sandbox/api";
import { FastPathService } from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { SandboxPoolService } from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import type { Logger } from "pino";
import { type ApiServer, createApiServer } from "../api-server/api-server.ts";
import { ChangeSignal } from "../core/change-signal.ts";
import { VERSION } from "../core/version.ts";
import { Informer } from "../kube/informer.ts";
import { WorkQueue } from "../kube/work-queue.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { SqliteStore } from "../store/sqlite-store.ts";
import { AgentMonitor } from "./agent-monitor.ts";
import { handleRegistration, REGISTER_PATH } from "./agent-registration-route.ts";
import type { ControllerConfig } from "./controller-config.ts";
import { ControllerMetrics } from "./controller-metrics.ts";
import { seedPool, waitForFirstAgents } from "./controller-startup.ts";
import { FastPath } from "./fast-path.ts";
import { fastPathRpc } from "./fast-path-rpc.ts";
import { OrphanCollector } from "./orphan-collector.ts";
import { type PlainHttpServer, startPlainHttpServer } from "./plain-http-server.ts";
import type { AgentLauncher, AgentLauncherEvents } from "./pool/agent-launcher.ts";
import { LocalAgentLauncher } from "./pool/local-agent-launcher.ts";
import { PoolApi } from "./pool/pool-api.ts";
import { PoolController } from "./pool/pool-controller.ts";
import type { PoolRoom } from "./pool/pool-growth.ts";
import { poolRpc } from "./pool/pool-rpc.ts";
import { AgentRegistry } from "./registry/agent-registry.ts";
import { SandboxReconciler } from "./sandbox/reconciler.ts";
import { StatusWaiters } from "./sandbox/status-waiters.ts";

/** Parts a test may replace (the store, to make writes fail). */
export interface ControllerDeps {
  store?: ObjectStore;
  /** Builds the launcher instead of `--agent-launcher local` (Kubernetes mode wires its Pod launcher here). */
  launcher?: (events: AgentLauncherEvents) => AgentLauncher;
}

/** The status round before serving waits this long per agent; one that is slower is probed later. */
const FIRST_STATUS_TIMEOUT_MS = 5000;

/**
 * Start order makes the API honest: it listens only once the registry has been rebuilt from the
 * store and from every agent's status, so the first create after a restart cannot double-allocate.
 * Health answers from the start; /readyz turns 200 when the API does.
 */
export class Controller {
  readonly config: ControllerConfig;
  readonly registry = new AgentRegistry();
  readonly #log: Logger;
  readonly #deps: ControllerDeps;
  readonly #abort = new AbortController();
  readonly #background: Array<Promise<unknown>> = [];
  #store: ObjectStore | undefined;
  #api: ApiServer | undefined;
  #health: PlainHttpServer | undefined;
  #metricsServer: PlainHttpServer | undefined;
  #launcher: AgentLauncher | undefined;
  #poolController: PoolController | undefined;
  #ready = false;

  constructor(config: ControllerConfig, logger: Logger, deps: ControllerDeps = {}) {
    this.config = config;
    this.#log = logger;
    this.#deps = deps;
  }

  get ready(): boolean {
    return this.#ready;
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

  async start(): Promise<void> {
    const { config } = this;
    const signal = this.#abort.signal;
    const log = this.#log;
    this.#health = await startPlainHttpServer(config.health, {
      "/healthz": async () => text(200, "ok"),
      "/readyz": async () => (this.#ready ? text(200, "ready") : text(503, "starting")),
    });

    const store = this.#deps.store ?? new SqliteStore({ dir: path.join(config.dataDir, "store") });
    this.#store = store;
    const registry = this.registry;
    const metrics = new ControllerMetrics(registry);
    this.#metricsServer = await startPlainHttpServer(config.metrics, {
      "/metrics": async () => ({
        status: 200,
        contentType: metrics.registry.contentType,
        body: await metrics.registry.metrics(),
      }),
    });

    const informer = new Informer<Sandbox["spec"], Sandbox["status"]>(store, {
      kind: SANDBOX_KIND,
      logger: log,
    });
    const queue = new WorkQueue({
      onError: (key, err) => log.warn({ sandbox: key, err }, "reconcile failed; will retry"),
    });
    const waiters = new StatusWaiters();
    // Room may appear through the registry (agents, slots) or the pool controller (launches).
    const roomChanges = new ChangeSignal();
    registry.changes.subscribe(() => roomChanges.notify());
    let fastPath: FastPath | undefined;
    let orphans: OrphanCollector | undefined;
    const monitor = new AgentMonitor({
      registry,
      logger: log,
      defaultAgentToken: config.agentToken,
      probeIntervalMs: config.probeIntervalMs,
      lossTimeoutMs: config.lossTimeoutMs,
      onAgentChanged: (agentId) => {
        for (const s of informer.list()) {
          if (s.status?.assignedAgent === agentId)
            queue.add(objectKey(s.metadata.namespace, s.metadata.name));
        }
      },
      // Every answer, not only changed ones: an unowned container just sits there unchanged.
      onStatus: (agentId, status) => {
        if (this.#ready) orphans?.collect(agentId, status);
      },
    });
    const agentsSettledAt = Date.now() + config.lossTimeoutMs;
    const reconciler = new SandboxReconciler({
      store,
      registry,
      monitor,
      logger: log,
      onStatus: (s, failure) => waiters.notify(s, failure),
      unknownAgentGraceUntil: agentsSettledAt,
    });
    const poolQueue = new WorkQueue({
      onError: (key, err) => log.warn({ pool: key, err }, "pool reconcile failed; will retry"),
    });
    fastPath = new FastPath({
      store,
      registry,
      monitor,
      waiters,
      enqueue: (key) => queue.add(key),
      logger: log,
      metrics,
      defaultMode: config.consistencyMode,
      orphanTimeoutMs: config.orphanTimeoutMs,
      recordBeforeReply: store.writesAreLocal === true,
      pools: this.#poolRoom((key) => poolQueue.add(key)),
      changes: roomChanges,
    });
    orphans = new OrphanCollector({
      monitor,
      registry,
      logger: log,
      metrics,
      ownedSandboxIds: () =>
        new Set(informer.list().flatMap((s) => (s.status?.sandboxID ? [s.status.sandboxID] : []))),
      pendingSandboxIds: () => fastPath.pendingSandboxIds(),
      orphanTimeoutMs: config.orphanTimeoutMs,
    });

    // 1. The store's view: every Sandbox, and the slots their containers hold.
    const enqueue = (s: Sandbox) => queue.add(objectKey(s.metadata.namespace, s.metadata.name));
    informer.addHandlers({ onAdd: enqueue, onUpdate: (_old, s) => enqueue(s), onDelete: enqueue });
    this.#background.push(informer.run(signal));
    await informer.waitForSync(signal);
    for (const s of informer.list()) {
      const { assignedAgent, sandboxID, phase } = s.status ?? {};
      if (assignedAgent && sandboxID && (phase === SandboxPhase.Bound || phase === SandboxPhase.Running)) {
        registry.restore(sandboxID, { agentId: assignedAgent, ports: s.spec.exposedPorts ?? [] });
      }
    }

    // 2. The pools, and the agents' view: adopt or launch agents, then ask every agent what it runs.
    const pools = new Informer<SandboxPool["spec"], SandboxPool["status"]>(store, {
      kind: POOL_KIND,
      logger: log,
    });
    this.#background.push(pools.run(signal));
    await pools.waitForSync(signal);
    if (config.seedPool) await seedPool(store, config, log);
    const events = this.#launcherEvents(monitor);
    const launcher = this.#deps.launcher ? this.#deps.launcher(events) : this.#localLauncher(events);
    this.#launcher = launcher;
    await launcher?.start(signal);
    // What the adopted (and brought-back) agents run, before the first pool pass: an agent whose
    // status is not in yet counts as empty, and an empty surplus agent is removed at once, even
    // one that holds the container of a sandbox being deleted.
    await monitor.probeAll();
    const poolController = new PoolController({
      store,
      pools,
      sandboxes: informer,
      registry,
      monitor,
      launcher,
      logger: log,
      changes: roomChanges,
    });
    this.#poolController = poolController;
    if (poolController) {
      const enqueuePool = (p: SandboxPool) => poolQueue.add(objectKey(p.metadata.namespace, p.metadata.name));
      pools.addHandlers({ onAdd: enqueuePool, onUpdate: (_old, p) => enqueuePool(p), onDelete: enqueuePool });
      // One pass per pool before serving, so the first agents are on their way (or adopted).
      const keys = new Set(pools.list().map((p) => objectKey(p.metadata.namespace, p.metadata.name)));
      for (const ref of registry.pools()) keys.add(objectKey(ref.namespace, ref.pool));
      for (const key of keys) {
        await poolController
          .reconcile(key)
          .catch((err: unknown) => log.warn({ pool: key, err }, "first pool pass failed"));
      }
      this.#background.push(poolQueue.run(2, (key) => poolController.reconcile(key), signal));
      for (const key of keys) poolQueue.add(key);
      if (launcher) await waitForFirstAgents(launcher, [...keys], registry, signal);
    }
    await monitor.probeAll(FIRST_STATUS_TIMEOUT_MS);
    this.#background.push(monitor.run(signal));

    // 3. Reconcile everything once, then serve.
    this.#background.push(queue.run(config.workers, (key) => reconciler.reconcile(key), signal));
    for (const s of informer.list()) enqueue(s);

    const poolApi = new PoolApi({
      store,
      registry,
      launcher,
      enqueue: (namespace, name) => poolQueue.add(objectKey(namespace, name)),
    });
    const apiToken = config.token;
    this.#api = createApiServer({
      routes: (router) => {
        router.service(FastPathService, fastPathRpc(fastPath));
        router.service(SandboxPoolService, poolRpc(poolApi));
      },
      ...(apiToken ? { token: apiToken } : { insecure: true }),
      logError: (err, context) => log.error({ err, ...context }, "internal error in an API call"),
      extraHttpHandler: async (req, res) => {
        const url = (req.url ?? "/").split("?")[0];
        if (url === "/version") {
          res.statusCode = 200;
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ version: VERSION, node: process.version }));
          return true;
        }
        if (url === "/healthz" || url === "/readyz") {
          res.statusCode = url === "/readyz" && !this.#ready ? 503 : 200;
          res.end(res.statusCode === 200 ? "ok" : "starting");
          return true;
        }
        if (url !== REGISTER_PATH && url !== AGENTS_PATH) return false;
        if (!this.#api?.isAuthorized(req)) {
          res.statusCode = 401;
          res.end(
            JSON.stringify({ error: { code: "UNAUTHENTICATED", message: "missing or wrong bearer token" } }),
          );
          return true;
        }
        if (url === AGENTS_PATH) {
          // The janitor asks which agents exist: a container of an agent that is gone is an orphan.
          // Until self-registered agents have had their loss timeout to heartbeat after a restart,
          // "not in the list" does not mean gone, so the list is not given out yet.
          if (Date.now() < agentsSettledAt) {
            res.statusCode = 503;
            res.end(
              JSON.stringify({
                error: { code: "UNAVAILABLE", message: "agent list not settled yet after start" },
              }),
            );
            return true;
          }
          res.statusCode = 200;
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ agents: agentList(registry) }));
          return true;
        }
        await handleRegistration(req, res, (registration) => {
          if (monitor.register(registration)) void monitor.probe(registration.agentId);
        });
        return true;
      },
    });
    await this.#api.listen(config.api.port, config.api.host || undefined);
    this.#ready = true;
    log.info(
      {
        api: this.apiPort,
        metrics: this.metricsPort,
        health: this.healthPort,
        agents: monitor.agentIds().length,
        mode: config.consistencyMode,
      },
      "controller ready",
    );
  }

  /**
   * The pool controller as creates see it (it starts after the Fast-Path is built). Demand noted
   * by a create that found no room sends its pool to the pool controller at once.
   */
  #poolRoom(enqueuePool: (key: string) => void): PoolRoom {
    return {
      needRoom: (namespace, pool, sandbox) => {
        const pools = this.#poolController;
        if (!pools) return { kind: "absent" };
        const growth = pools.needRoom(namespace, pool, sandbox);
        enqueuePool(objectKey(namespace, pool));
        return growth;
      },
      settle: (namespace, pool, sandbox, placed) =>
        this.#poolController?.settle(namespace, pool, sandbox, placed),
      growth: (namespace, pool) => this.#poolController?.growth(namespace, pool) ?? { kind: "absent" },
    };
  }

  /** Launched agents are registered and probed at once when up, and marked unhealthy when down. */
  #launcherEvents(monitor: AgentMonitor): AgentLauncherEvents {
    return {
      onAgentUp: (registration) => {
        monitor.register(registration);
        void monitor.probe(registration.agentId);
      },
      onAgentDown: (agentId) => this.registry.markHealthy(agentId, false, Date.now()),
    };
  }

  #localLauncher(events: AgentLauncherEvents): AgentLauncher | undefined {
    const { config } = this;
    if (config.agentLauncher !== "local") return undefined;
    return new LocalAgentLauncher({
      idPrefix: config.localAgentPrefix,
      defaultPool: { namespace: config.poolNamespace, name: config.pool },
      basePort: config.agentPort,
      containerdSocket: config.containerdSocket,
      containerdNamespace: config.containerdNamespace,
      logDir: config.agentLogDir,
      anchorDir: path.join(config.dataDir, "anchor"),
      stateDir: path.join(config.dataDir, "agents"),
      agentToken: config.agentToken,
      logger: this.#log,
      ...events,
    });
  }

  /** Stops serving, then stops the loops, the local agents and the store, in that order. */
  async stop(): Promise<void> {
    this.#ready = false;
    await this.#api?.close();
    this.#abort.abort();
    await Promise.allSettled(this.#background);
    await this.#launcher?.stop();
    await this.#store?.close();
    await this.#metricsServer?.close();
    await this.#health?.close();
  }
}

/** `GET /api/v1/agents`: every agent the registry knows (placeholders are agents not heard from yet). */
const AGENTS_PATH = "/api/v1/agents";

function agentList(registry: AgentRegistry) {
  return registry.agents().map((a) => ({
    agentId: a.id,
    nodeName: a.nodeName,
    pool: a.pool,
    namespace: a.namespace,
    url: a.url,
    healthy: a.healthy,
    registered: !a.placeholder,
    capacity: a.capacity,
    allocated: a.allocated,
    lastHeartbeat: a.lastHeartbeat ? new Date(a.lastHeartbeat).toISOString() : null,
  }));
}

function text(status: number, body: string) {
  return { status, contentType: "text/plain", body };
}

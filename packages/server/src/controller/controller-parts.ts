/** The controller's parts, built and connected but not running: what Controller.start then starts in order. */
import path from "node:path";
import { objectKey, POOL_KIND, SANDBOX_KIND, type Sandbox, type SandboxPool } from "@fast-sandbox/api";
import type { Logger } from "pino";
import { ChangeSignal } from "../core/change-signal.ts";
import { type EventRecorder, LogEventRecorder } from "../core/event-recorder.ts";
import { Informer } from "../kube/informer.ts";
import { WorkQueue } from "../kube/work-queue.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { SqliteStore } from "../store/sqlite-store.ts";
import { AgentMonitor } from "./agent-monitor.ts";
import { AgentReturnWindow, hasAwaitedAgent } from "./agent-return-window.ts";
import type { ControllerConfig } from "./controller-config.ts";
import { ControllerMetrics } from "./controller-metrics.ts";
import { EventAction, EventReason } from "./event-reasons.ts";
import { FastPath } from "./fast-path.ts";
import { OrphanCollector } from "./orphan-collector.ts";
import type { AgentLauncher, AgentLauncherEvents } from "./pool/agent-launcher.ts";
import { LocalAgentLauncher } from "./pool/local-agent-launcher.ts";
import { PoolApi } from "./pool/pool-api.ts";
import { PoolController } from "./pool/pool-controller.ts";
import type { PoolRoom } from "./pool/pool-growth.ts";
import { PoolCatalog } from "./pool-catalog.ts";
import type { AgentRegistry } from "./registry/agent-registry.ts";
import { SandboxReconciler } from "./sandbox/reconciler.ts";
import { StatusWaiters } from "./sandbox/status-waiters.ts";

/** Parts a test may replace (the store, to make writes fail). */
export interface ControllerDeps {
  store?: ObjectStore;
  /** Builds the launcher instead of `--agent-launcher local` (Kubernetes mode wires its Pod launcher here). */
  launcher?: (events: AgentLauncherEvents) => AgentLauncher;
  /** Where Kubernetes Events go (Kubernetes mode: an events.k8s.io writer); otherwise they are only logged. */
  events?: EventRecorder;
}

/** Every part of a controller, connected. */
export interface ControllerParts {
  store: ObjectStore;
  registry: AgentRegistry;
  metrics: ControllerMetrics;
  sandboxes: Informer<Sandbox["spec"], Sandbox["status"]>;
  pools: Informer<SandboxPool["spec"], SandboxPool["status"]>;
  /** Sandbox keys to reconcile. */
  queue: WorkQueue;
  /** Pool keys to reconcile. */
  poolQueue: WorkQueue;
  monitor: AgentMonitor;
  launcher: AgentLauncher | undefined;
  reconciler: SandboxReconciler;
  poolController: PoolController;
  fastPath: FastPath;
  poolApi: PoolApi;
  /** Opened when the API serves: until it closes, an agent not heard from may still come back. */
  agentReturn: AgentReturnWindow;
  /** Kubernetes Events of the reconcilers. */
  recorder: EventRecorder;
}

/** What the wiring needs from its owner. */
export interface WiringContext {
  config: ControllerConfig;
  log: Logger;
  deps: ControllerDeps;
  registry: AgentRegistry;
  /** Whether the controller serves: orphans are collected only then. */
  ready: () => boolean;
}

/** Builds and connects every part; nothing runs until the parts are started. */
export function wireController(ctx: WiringContext): ControllerParts {
  const { config, log, registry } = ctx;
  const store = ctx.deps.store ?? new SqliteStore({ dir: path.join(config.dataDir, "store") });
  const recorder = ctx.deps.events ?? new LogEventRecorder(log);
  const metrics = new ControllerMetrics(registry, recorder);
  const sandboxes = new Informer<Sandbox["spec"], Sandbox["status"]>(store, {
    kind: SANDBOX_KIND,
    logger: log,
  });
  const pools = new Informer<SandboxPool["spec"], SandboxPool["status"]>(store, {
    kind: POOL_KIND,
    logger: log,
  });
  const queue = new WorkQueue({
    onError: (key, err) => log.warn({ sandbox: key, err }, "reconcile failed; will retry"),
  });
  const poolQueue = new WorkQueue({
    onError: (key, err) => log.warn({ pool: key, err }, "pool reconcile failed; will retry"),
  });
  let orphans: OrphanCollector | undefined;
  const monitor = new AgentMonitor({
    registry,
    logger: log,
    defaultAgentToken: config.agentToken,
    probeIntervalMs: config.probeIntervalMs,
    lossTimeoutMs: config.lossTimeoutMs,
    onAgentChanged: (agentId) => {
      for (const s of sandboxes.list()) {
        if (s.status?.assignedAgent === agentId) queue.add(objectKey(s.metadata.namespace, s.metadata.name));
      }
    },
    // Every answer, not only changed ones: an unowned container just sits there unchanged.
    onStatus: (agentId, status) => {
      if (ctx.ready()) orphans?.collect(agentId, status);
    },
  });
  const events = launcherEvents(monitor, registry, recorder, pools);
  const launcher = ctx.deps.launcher ? ctx.deps.launcher(events) : localLauncher(config, log, events);
  const base = { store, registry, metrics, sandboxes, pools, queue, poolQueue, monitor, launcher, recorder };
  const parts = wireServices(ctx, base);
  orphans = new OrphanCollector({
    monitor,
    registry,
    logger: log,
    metrics,
    ownedSandboxIds: () =>
      new Set(sandboxes.list().flatMap((s) => (s.status?.sandboxID ? [s.status.sandboxID] : []))),
    pendingSandboxIds: () => parts.fastPath.pendingSandboxIds(),
    orphanTimeoutMs: config.orphanTimeoutMs,
  });
  return parts;
}

type BaseParts = Omit<
  ControllerParts,
  "reconciler" | "poolController" | "fastPath" | "poolApi" | "agentReturn"
>;

/** The reconcilers and the two APIs' implementations, on top of the informers, queues and agents. */
function wireServices(ctx: WiringContext, base: BaseParts): ControllerParts {
  const { config, log } = ctx;
  const { store, registry, monitor, launcher, metrics, queue, poolQueue } = base;
  const waiters = new StatusWaiters();
  // Room may appear through the registry (agents, slots) or the pool controller (launches).
  const roomChanges = new ChangeSignal();
  registry.changes.subscribe(() => roomChanges.notify());
  const agentReturn = new AgentReturnWindow(config.lossTimeoutMs);
  const awaitedAgentIn = (namespace: string, pool: string) =>
    hasAwaitedAgent(base.sandboxes.list(), registry, namespace, pool);
  const poolCatalog = new PoolCatalog({
    store,
    registry,
    cache: base.pools,
    mayReturn: (namespace, pool) => agentReturn.open && awaitedAgentIn(namespace, pool),
  });
  const reconciler = new SandboxReconciler({
    store,
    registry,
    monitor,
    poolCatalog,
    logger: log,
    onStatus: (s, failure) => waiters.notify(s, failure),
    unknownAgentGraceUntil: () => agentReturn.until,
    events: base.recorder,
  });
  const poolController = new PoolController({
    store,
    pools: base.pools,
    sandboxes: base.sandboxes,
    registry,
    monitor,
    launcher,
    logger: log,
    events: base.recorder,
    changes: roomChanges,
    // Only pools that may really get an agent back wait for one: agents launched for a pool were
    // adopted before the API opened, so there it takes a sandbox on an agent not heard from yet.
    agentsReturnUntil: (namespace, pool) =>
      agentReturn.open && (launcher === undefined || awaitedAgentIn(namespace, pool)) ? agentReturn.until : 0,
  });
  const fastPath = new FastPath({
    store,
    registry,
    monitor,
    events: base.recorder,
    waiters,
    enqueue: (key) => queue.add(key),
    logger: log,
    metrics,
    defaultMode: config.consistencyMode,
    orphanTimeoutMs: config.orphanTimeoutMs,
    recordBeforeReply: store.writesAreLocal === true,
    pools: poolRoom(poolController, (key) => poolQueue.add(key)),
    poolCatalog,
    changes: roomChanges,
  });
  const poolApi = new PoolApi({
    store,
    registry,
    launcher,
    enqueue: (namespace, name) => poolQueue.add(objectKey(namespace, name)),
  });
  return { ...base, reconciler, poolController, fastPath, poolApi, agentReturn };
}

/** The pool controller as creates see it: demand noted by a create that found no room sends its pool to the pool controller at once. */
function poolRoom(pools: PoolController, enqueuePool: (key: string) => void): PoolRoom {
  return {
    needRoom: (namespace, pool, sandbox) => {
      const growth = pools.needRoom(namespace, pool, sandbox);
      enqueuePool(objectKey(namespace, pool));
      return growth;
    },
    settle: (namespace, pool, sandbox, placed) => pools.settle(namespace, pool, sandbox, placed),
    growth: (namespace, pool) => pools.growth(namespace, pool),
    growthMayBringImages: (namespace, pool) => pools.growthMayBringImages(namespace, pool),
  };
}

/** Launched agents are registered and probed at once when up, and marked unhealthy when down. */
function launcherEvents(
  monitor: AgentMonitor,
  registry: AgentRegistry,
  recorder: EventRecorder,
  pools: Informer<SandboxPool["spec"], SandboxPool["status"]>,
): AgentLauncherEvents {
  return {
    onAgentUp: (registration) => {
      monitor.register(registration);
      void monitor.probe(registration.agentId);
    },
    onAgentDown: (agentId) => registry.markHealthy(agentId, false, Date.now()),
    onAgentFailed: (pool, _agentId, detail) => {
      const object = pools.get(pool.namespace, pool.name);
      if (object) recorder.warning(object, EventReason.AgentFailed, EventAction.Replace, detail);
    },
  };
}

function localLauncher(
  config: ControllerConfig,
  logger: Logger,
  events: AgentLauncherEvents,
): AgentLauncher | undefined {
  if (config.agentLauncher !== "local") return undefined;
  return new LocalAgentLauncher({
    idPrefix: config.localAgentPrefix,
    defaultPool: { namespace: config.poolNamespace, name: config.pool },
    basePort: config.agentPort,
    containerdSocket: config.containerdSocket,
    containerdNamespace: config.containerdNamespace,
    logDir: config.agentLogDir,
    anchorDir: path.join(config.dataDir, "anchor"),
    seccompProfileDir: path.join(config.dataDir, "seccomp"),
    stateDir: path.join(config.dataDir, "agents"),
    agentToken: config.agentToken,
    logger,
    ...events,
  });
}

/** fsb-janitor as one runnable: metrics endpoint, containerd connection, and a scan every interval. */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { ContainerdConnection } from "../containerd/connection.ts";
import type { Runnable } from "../core/runnable.ts";
import { type PlainHttpServer, startPlainHttpServer } from "../http/plain-http-server.ts";
import { loadKubeConfig } from "../kube/kube-config.ts";
import { ControllerOwnershipSource } from "./controller-ownership-source.ts";
import type { JanitorConfig } from "./janitor-config.ts";
import { JanitorMetrics } from "./janitor-metrics.ts";
import { KubeOwnershipSource } from "./kube-ownership-source.ts";
import { NodeJanitor } from "./node-janitor.ts";
import type { OwnershipSource } from "./ownership.ts";

/** Starts scanning at once, then every `scanIntervalMs`; a failed scan is logged and the next one tries again. */
export class JanitorService implements Runnable {
  readonly #config: JanitorConfig;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #connection: ContainerdConnection | undefined;
  #metricsServer: PlainHttpServer | undefined;
  #loop: Promise<void> | undefined;

  constructor(config: JanitorConfig, logger: Logger) {
    this.#config = config;
    this.#log = logger;
  }

  get metricsPort(): number | undefined {
    return this.#metricsServer?.port;
  }

  async start(): Promise<void> {
    const config = this.#config;
    const metrics = new JanitorMetrics();
    this.#metricsServer = await startPlainHttpServer(config.metrics, {
      "/metrics": async () => ({
        status: 200,
        contentType: metrics.registry.contentType,
        body: await metrics.registry.metrics(),
      }),
      "/healthz": async () => ({ status: 200, contentType: "text/plain", body: "ok" }),
    });
    this.#connection = new ContainerdConnection({
      socketPath: config.containerdSocket,
      namespace: config.containerdNamespace,
    });
    const janitor = new NodeJanitor({
      connection: this.#connection,
      ownership: ownershipSource(config, this.#log),
      logger: this.#log,
      metrics,
      orphanTimeoutMs: config.orphanTimeoutMs,
      logDir: config.logDir,
      logRetentionMs: config.logRetentionMs,
      containerdState: config.containerdState,
      snapshotter: config.snapshotter,
      dryRun: config.dryRun,
    });
    this.#loop = this.#run(janitor, this.#abort.signal);
    this.#log.info(
      {
        metrics: this.metricsPort,
        ownership: config.ownership,
        controller: config.controllerUrl,
        namespace: config.containerdNamespace,
        dryRun: config.dryRun,
        scanIntervalMs: config.scanIntervalMs,
      },
      "janitor started",
    );
  }

  /** Lets a scan in progress finish its current removal, then stops. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    await this.#metricsServer?.stop();
    this.#connection?.close();
  }

  async #run(janitor: NodeJanitor, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const { findings } = await janitor.scan(signal);
        if (findings.length > 0) {
          const outcomes: Record<string, number> = {};
          for (const f of findings) outcomes[f.outcome] = (outcomes[f.outcome] ?? 0) + 1;
          this.#log.info({ outcomes }, "scan found orphans or leftovers");
        }
      } catch (err) {
        if (signal.aborted) return;
        this.#log.warn({ err }, "scan failed; retrying next interval");
      }
      await sleep(this.#config.scanIntervalMs, undefined, { signal }).catch(() => {});
    }
  }
}

/** The controller's API, or the API server (plus the controller's agents when a controller URL is set). */
function ownershipSource(config: JanitorConfig, logger: Logger): OwnershipSource {
  const controller =
    config.controllerUrl === undefined
      ? undefined
      : new ControllerOwnershipSource({ endpoint: config.controllerUrl, token: config.token });
  if (config.ownership === "controller") return controller!;
  const loaded = loadKubeConfig({ kubeconfig: config.kubeconfig, env: process.env });
  logger.info(
    { kubeconfig: loaded.source, path: loaded.path },
    "reading ownership from the Kubernetes API server",
  );
  return new KubeOwnershipSource({
    kubeConfig: loaded.kubeConfig,
    nodeName: config.nodeName,
    ...(controller === undefined ? {} : { agentsAlso: controller }),
  });
}

/** fsb-janitor as one runnable: metrics endpoint, containerd connection, and a scan every interval. */

import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { ContainerdConnection } from "../containerd/connection.ts";
import { loop, type Runnable, RunnableManager, step } from "../core/runnable.ts";
import { PlainHttpServer } from "../http/plain-http-server.ts";
import { loadKubeConfig } from "../kube/kube-config.ts";
import { hostNetTools } from "../network/net-tools.ts";
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
  readonly #metrics = new JanitorMetrics();
  readonly #metricsServer: PlainHttpServer;
  readonly #manager = new RunnableManager();

  constructor(config: JanitorConfig, logger: Logger) {
    this.#config = config;
    this.#log = logger;
    this.#metricsServer = new PlainHttpServer(config.metrics, {
      "/metrics": async () => ({
        status: 200,
        contentType: this.#metrics.registry.contentType,
        body: await this.#metrics.registry.metrics(),
      }),
      "/healthz": async () => ({ status: 200, contentType: "text/plain", body: "ok" }),
    });
  }

  get metricsPort(): number | undefined {
    return this.#metricsServer.port;
  }

  /** The metrics port, then containerd and the scan loop; stop lets a scan in progress finish its current removal. */
  async start(signal?: AbortSignal): Promise<void> {
    const config = this.#config;
    const connection = new ContainerdConnection({
      socketPath: config.containerdSocket,
      namespace: config.containerdNamespace,
    });
    const janitor = new NodeJanitor({
      connection,
      ownership: ownershipSource(config, this.#log),
      logger: this.#log,
      metrics: this.#metrics,
      orphanTimeoutMs: config.orphanTimeoutMs,
      logDir: config.logDir,
      logRetentionMs: config.logRetentionMs,
      containerdState: config.containerdState,
      snapshotter: config.snapshotter,
      dryRun: config.dryRun,
      network: { stateDir: config.networkStateDir, tools: hostNetTools },
    });
    this.#manager
      .add("metrics", this.#metricsServer)
      .add(
        "containerd connection",
        step(
          () => {},
          async () => connection.close(),
        ),
      )
      .add(
        "scan loop",
        loop((s) => this.#run(janitor, s)),
      );
    await this.#manager.start(signal);
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

  stop(): Promise<void> {
    return this.#manager.stop();
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

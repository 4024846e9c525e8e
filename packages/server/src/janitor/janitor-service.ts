/** fsb-janitor as one runnable: metrics endpoint, containerd connection, and a scan every interval. */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { ContainerdConnection } from "../containerd/connection.ts";
import { type PlainHttpServer, startPlainHttpServer } from "../controller/plain-http-server.ts";
import type { Runnable } from "../core/run-main.ts";
import { ControllerOwnershipSource } from "./controller-ownership-source.ts";
import type { JanitorConfig } from "./janitor-config.ts";
import { JanitorMetrics } from "./janitor-metrics.ts";
import { NodeJanitor } from "./node-janitor.ts";

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
      ownership: new ControllerOwnershipSource({ endpoint: config.controllerUrl, token: config.token }),
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
    await this.#metricsServer?.close();
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

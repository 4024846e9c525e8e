/** The whole standalone system as one runnable: containerd, controller (with its agents) and janitor, started and stopped in order by a RunnableManager. */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import type { Logger } from "pino";
import { ContainerdConnection } from "../containerd/connection.ts";
import { Controller } from "../controller/controller.ts";
import type { ControllerConfig } from "../controller/controller-config.ts";
import type { FlaggedPort } from "../core/port-in-use.ts";
import { type Runnable, RunnableManager, step } from "../core/runnable.ts";
import { type JanitorProcess, startJanitorProcess, stopLeftoverJanitor } from "../janitor/janitor-process.ts";
import { PrivateContainerd } from "./private-containerd.ts";
import { standaloneCliConfig } from "./standalone-cli-config.ts";
import type { StandaloneConfig } from "./standalone-config.ts";

export const SYSTEM_SOCKET = "/run/containerd/containerd.sock";
/** The system containerd's state directory (task bundles), for the janitor. */
const SYSTEM_STATE_DIR = "/run/containerd";
/** The containerd namespace of the standalone's agents: the one kubelet uses, so a node's images are reused. */
export const STANDALONE_NAMESPACE = "k8s.io";
/** How long the node's containerd gets to answer before `auto` picks a private one. */
const PROBE_TIMEOUT_MS = 1000;

/** Options of {@link StandaloneSystem}. */
export interface StandaloneSystemOptions {
  config: StandaloneConfig;
  controllerConfig: ControllerConfig;
  /** The busybox OCI layout `npm run setup` builds; imported so a first sandbox needs no registry. */
  imageTar: string;
  /** Whether the API token came from FSB_TOKEN (then no token file is named in the CLI config). */
  tokenFromEnv: boolean;
  tokenFile: string;
  logger: Logger;
  /** One line for the person at the terminal (something of an earlier run was adopted or stopped). */
  notice: (line: string) => void;
}

/**
 * Start order: containerd (adopting a private one an earlier run left, or stopping it), the image,
 * the controller (which adopts or relaunches the agents), the janitor (after stopping one an earlier
 * run left), then the CLI config. Stop runs the other way round and leaves every sandbox running.
 * A failed start stops what it had started, so nothing is left holding a port or containerd's lock.
 */
export class StandaloneSystem implements Runnable {
  readonly #o: StandaloneSystemOptions;
  readonly #manager: RunnableManager;
  #containerd: PrivateContainerd | undefined;
  #socketPath: string | undefined;
  #controller: Controller | undefined;
  #janitor: JanitorProcess | undefined;
  #starting: Promise<void> | undefined;

  constructor(options: StandaloneSystemOptions) {
    this.#o = options;
    const log = options.logger;
    this.#manager = new RunnableManager({
      onStopError: (part, err) => log.error({ err }, `${part} stop failed`),
    })
      .add(
        "containerd",
        step(
          async () => {
            this.#socketPath = await this.#startContainerd();
          },
          async () => {
            await this.#containerd?.stop();
            this.#containerd = undefined;
          },
        ),
      )
      .add(
        "image",
        step(() => this.#importImage(this.#socket)),
      )
      .add(
        "controller",
        step(
          (signal) => this.#startController(signal),
          async () => {
            await this.#controller?.stop();
            this.#controller = undefined;
          },
        ),
      )
      // The janitor stops first: with the controller gone it could not prove anything, so it would idle.
      .add(
        "janitor",
        step(
          () => this.#startJanitor(),
          async () => {
            await this.#janitor?.stop();
            this.#janitor = undefined;
          },
        ),
      )
      .add(
        "cli config",
        step(() => this.#writeCliConfig()),
      );
  }

  /** The fixed addresses the system listens on, with the flags that move them. */
  static ports(config: StandaloneConfig, controller: ControllerConfig): FlaggedPort[] {
    return [
      { flag: "--api-bind-address", ...controller.api },
      { flag: "--metrics-bind-address", ...controller.metrics },
      { flag: "--health-probe-bind-address", ...controller.health },
      { flag: "--janitor-metrics-bind-address", ...config.janitorMetrics },
    ];
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.#controller?.apiPort ?? this.#o.controllerConfig.api.port}`;
  }

  get metricsPort(): number | undefined {
    return this.#controller?.metricsPort;
  }

  get containerdSocket(): string | undefined {
    return this.#socketPath;
  }

  get privateContainerdPid(): number | undefined {
    return this.#containerd?.pid;
  }

  get janitorPid(): number | undefined {
    return this.#janitor?.pid;
  }

  /**
   * Stops what an earlier run of this state directory left holding a fixed port (its janitor), so
   * that the ports can be checked before anything starts. Only call it holding the instance lock.
   */
  async stopLeftovers(): Promise<void> {
    const pid = await stopLeftoverJanitor(
      this.#janitorPidFile,
      this.#o.controllerConfig.agentLogDir,
      this.#o.logger,
    );
    if (pid !== undefined)
      this.#o.notice(`stopped the janitor (pid ${pid}) that an earlier run left running`);
  }

  /** Starts the parts in order; a second call returns the first one's promise. */
  start(signal?: AbortSignal): Promise<void> {
    this.#starting ??= this.#manager.start(signal);
    return this.#starting;
  }

  /**
   * Cuts a start in progress short, then stops everything that runs, last started first. Never
   * rejects: a part whose stop fails is logged and the others are stopped all the same.
   */
  async stop(): Promise<void> {
    await this.#manager.stop().catch(() => {});
  }

  get #socket(): string {
    if (this.#socketPath === undefined) throw new FsbError(ErrorCode.Internal, "containerd has not started");
    return this.#socketPath;
  }

  async #importImage(socketPath: string): Promise<void> {
    if (!existsSync(this.#o.imageTar)) {
      throw new FsbError(
        ErrorCode.FailedPrecondition,
        `the busybox test image ${this.#o.imageTar} is missing; run npm run setup (npm start runs it)`,
      );
    }
    await PrivateContainerd.importImageTo(
      socketPath,
      this.#o.imageTar,
      "docker.io/library/busybox",
      STANDALONE_NAMESPACE,
    ).catch((err: unknown) => {
      throw new FsbError(ErrorCode.Unavailable, `could not import ${this.#o.imageTar} into ${socketPath}`, {
        cause: err,
      });
    });
  }

  async #startController(signal: AbortSignal): Promise<void> {
    const { controllerConfig, logger } = this.#o;
    this.#controller = new Controller(
      { ...controllerConfig, containerdSocket: this.#socket },
      logger.child({ component: "controller" }),
    );
    await this.#controller.start(signal);
  }

  async #startJanitor(): Promise<void> {
    const { config, controllerConfig, logger } = this.#o;
    this.#janitor = await startJanitorProcess({
      controllerUrl: this.endpoint,
      token: controllerConfig.token,
      containerdSocket: this.#socket,
      containerdNamespace: controllerConfig.containerdNamespace,
      containerdState:
        process.env.FSB_CONTAINERD_STATE ??
        (this.#containerd ? path.join(this.#containerd.dir, "state") : SYSTEM_STATE_DIR),
      logDir: controllerConfig.agentLogDir,
      metricsBindAddress: `${config.janitorMetrics.host}:${config.janitorMetrics.port}`,
      outputFile: path.join(config.stateDir, "janitor.log"),
      pidFile: this.#janitorPidFile,
      logger: logger.child({ component: "janitor" }),
    });
    await this.#janitor.ready();
  }

  /** The socket of the containerd chosen by `--containerd`, starting or adopting a private one if needed. */
  async #startContainerd(): Promise<string> {
    const choice = this.#o.config.containerd;
    if (choice.kind === "socket") {
      if (await answers(choice.socketPath)) return choice.socketPath;
      throw new FsbError(
        ErrorCode.Unavailable,
        `no containerd answers on ${choice.socketPath} (given by --containerd or FSB_CONTAINERD_SOCKET)`,
      );
    }
    if (choice.kind === "auto" && (await answers(SYSTEM_SOCKET))) return SYSTEM_SOCKET;
    const containerd = new PrivateContainerd({ dir: path.join(this.#o.config.stateDir, "containerd") });
    const how = await containerd.start({ adopt: true });
    this.#containerd = containerd;
    this.#o.logger.info({ pid: containerd.pid, socket: containerd.socketPath, how }, "private containerd");
    if (how === "adopted") {
      this.#o.notice(
        `adopted the private containerd (pid ${containerd.pid}) that an earlier run left running`,
      );
    }
    return containerd.socketPath;
  }

  /**
   * Where the CLI looks first (./.fsb/config.yaml by default), so it works with no flags at all.
   * Only the standalone context changes; a file that is not a config is left alone, with a notice.
   */
  async #writeCliConfig(): Promise<void> {
    const file = this.#o.config.cliConfigFile;
    const existing = await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    let text: string;
    try {
      text = standaloneCliConfig(existing, file, {
        endpoint: this.endpoint,
        tokenFile: this.#o.tokenFromEnv ? undefined : this.#o.tokenFile,
      });
    } catch (err) {
      this.#o.logger.warn({ err, file }, "fsb-ctl config left as it is");
      this.#o.notice(
        `left ${file} as it is (${(err as Error).message}): fix or remove it for fsb-ctl to find this system`,
      );
      return;
    }
    await mkdir(path.dirname(file), { recursive: true });
    // As fsb-ctl writes it: other contexts may hold tokens.
    await writeFile(file, text, { mode: 0o600 });
  }

  get #janitorPidFile(): string {
    return path.join(this.#o.config.stateDir, "janitor.pid");
  }
}

/** Whether a containerd answers on `socketPath`. */
async function answers(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  const conn = new ContainerdConnection({ socketPath, namespace: STANDALONE_NAMESPACE });
  try {
    await conn.version.version({}, { timeoutMs: PROBE_TIMEOUT_MS });
    return true;
  } catch {
    return false;
  } finally {
    conn.close();
  }
}

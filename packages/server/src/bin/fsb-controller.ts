/** Entry point of fsb-controller: parse flags and env, start the control plane, stop it cleanly on a signal. */
import { isFsbError } from "@fast-sandbox/api";
import { Controller, type ControllerDeps } from "../controller/controller.ts";
import { parseControllerConfig } from "../controller/controller-config.ts";
import { LeaderElectedController } from "../controller/leader-elected-controller.ts";
import { KubeAgentLauncher } from "../controller/pool/kube-agent-launcher.ts";
import { KubeAgentPods } from "../controller/pool/kube-agent-pods.ts";
import { createLogger } from "../core/logger.ts";
import { configOrExit, EXIT_USAGE, type RunMainOptions, runMain } from "../core/run-main.ts";
import { loadKubeConfig } from "../kube/kube-config.ts";
import { KubeEventRecorder } from "../kube/kube-event-recorder.ts";
import { defaultLeaderIdentity, KubeLeaseClient } from "../kube/kube-lease-client.ts";
import { KubeStore } from "../store/kube-store.ts";

const config = configOrExit("fsb-controller", parseControllerConfig);
const logger = createLogger({ name: "fsb-controller", level: config.logLevel, format: config.logFormat });
if (config.insecure) logger.warn("serving the API without a token (--insecure)");
const mainOptions: RunMainOptions = {
  name: "fsb-controller",
  ports: [
    { flag: "--api-bind-address", ...config.api },
    { flag: "--metrics-bind-address", ...config.metrics },
    { flag: "--health-probe-bind-address", ...config.health },
  ],
};

if (config.store === "sqlite") {
  await runMain(new Controller(config, logger), logger, mainOptions);
} else {
  let loaded: ReturnType<typeof loadKubeConfig>;
  try {
    loaded = loadKubeConfig({ kubeconfig: config.kubeconfig, env: process.env });
  } catch (err) {
    process.stderr.write(`fsb-controller: ${isFsbError(err) ? err.message : String(err)}\n`);
    process.exit(EXIT_USAGE);
  }
  logger.info({ source: loaded.source, path: loaded.path }, "using the Kubernetes API as the store");
  const kubeConfig = loaded.kubeConfig;
  const identity = defaultLeaderIdentity(process.env.POD_NAME || undefined);
  // A fresh store (and Pod launcher, and event recorder) per leadership term: a new leader starts
  // from a clean list-and-watch, and from no event series of its own.
  const deps = (): ControllerDeps => ({
    store: new KubeStore({ kubeConfig }),
    events: KubeEventRecorder.forCluster(kubeConfig, { reportingInstance: identity, logger }),
    ...(config.agentLauncher === "kubernetes"
      ? {
          launcher: (events) =>
            new KubeAgentLauncher({
              pods: new KubeAgentPods(kubeConfig),
              image: config.agentImage,
              tokenSecretName: config.agentTokenSecret,
              serviceAccountName: config.agentServiceAccount,
              agentPort: config.agentPort,
              logger,
              ...events,
            }),
        }
      : {}),
  });
  if (!config.leaderElect) {
    await runMain(new Controller(config, logger, deps()), logger, mainOptions);
  } else {
    const elected = new LeaderElectedController({
      config,
      lease: new KubeLeaseClient(kubeConfig, {
        namespace: config.leaderElectionNamespace,
        name: config.leaderElectionId,
      }),
      identity,
      controller: () => new Controller(config, logger, deps()),
      logger,
      onLostLeadership: () => process.exit(1),
    });
    await runMain(elected, logger, mainOptions);
  }
}

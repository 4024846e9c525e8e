/** Finds the Kubernetes client configuration: --kubeconfig, then KUBECONFIG, then the service account, then ~/.kube/config. */
import { existsSync } from "node:fs";
import { isIPv6 } from "node:net";
import os from "node:os";
import path from "node:path";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { KubeConfig } from "@kubernetes/client-node";

/** Where Kubernetes mounts a Pod's service account token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface LoadKubeConfigOptions {
  /** An explicit kubeconfig file (the `--kubeconfig` flag); wins over everything else. */
  kubeconfig?: string | undefined;
  /** The environment: KUBECONFIG, and KUBERNETES_SERVICE_HOST/PORT for in-cluster use. */
  env: Readonly<Record<string, string | undefined>>;
  /** The service account mount (tests point it elsewhere). */
  serviceAccountDir?: string;
  /** The home directory holding `.kube/config` (tests point it elsewhere). */
  homeDir?: string;
}

/** Where the configuration came from, for the startup log. */
export type KubeConfigSource = "flag" | "env" | "in-cluster" | "home";

export interface LoadedKubeConfig {
  kubeConfig: KubeConfig;
  source: KubeConfigSource;
  /** The file read (for in-cluster, the service account directory). */
  path: string;
}

/**
 * Loads the client configuration the way kubectl and client-go look for it: the `--kubeconfig` path,
 * else the files in KUBECONFIG (`:`-separated; the first file's current context, later files only add
 * entries), else the Pod's service account when KUBERNETES_SERVICE_HOST is set and the token is
 * mounted, else `~/.kube/config`. Nothing found, or a file that cannot be read, is FAILED_PRECONDITION.
 */
export function loadKubeConfig(options: LoadKubeConfigOptions): LoadedKubeConfig {
  const { env } = options;
  if (options.kubeconfig !== undefined && options.kubeconfig !== "") {
    return { kubeConfig: fromFiles([options.kubeconfig]), source: "flag", path: options.kubeconfig };
  }
  const listed = (env.KUBECONFIG ?? "").split(path.delimiter).filter((f) => f !== "");
  if (listed.length > 0)
    return { kubeConfig: fromFiles(listed), source: "env", path: listed.join(path.delimiter) };
  const saDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (host && port && existsSync(path.join(saDir, "token"))) {
    return { kubeConfig: inCluster(host, port, saDir), source: "in-cluster", path: saDir };
  }
  const home = path.join(options.homeDir ?? os.homedir(), ".kube", "config");
  if (existsSync(home)) return { kubeConfig: fromFiles([home]), source: "home", path: home };
  throw new FsbError(
    ErrorCode.FailedPrecondition,
    "no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, run in a Pod with a service account, or create ~/.kube/config",
  );
}

function fromFiles(files: string[]): KubeConfig {
  const config = load(files[0]!);
  for (const file of files.slice(1)) {
    const more = load(file);
    // As kubectl merges: the first file that names an entry wins.
    for (const cluster of more.clusters) if (!config.getCluster(cluster.name)) config.addCluster(cluster);
    for (const user of more.users) if (!config.getUser(user.name)) config.addUser(user);
    for (const context of more.contexts) {
      if (!config.getContextObject(context.name)) config.addContext(context);
    }
    if (!config.currentContext) config.setCurrentContext(more.currentContext);
  }
  if (config.getCurrentCluster() === null) {
    throw new FsbError(
      ErrorCode.FailedPrecondition,
      `kubeconfig ${files.join(path.delimiter)} has no current context with a cluster`,
    );
  }
  return config;
}

function load(file: string): KubeConfig {
  const config = new KubeConfig();
  try {
    config.loadFromFile(file);
  } catch (err) {
    throw new FsbError(
      ErrorCode.FailedPrecondition,
      `cannot load kubeconfig ${file}: ${(err as Error).message ?? err}`,
      { cause: err },
    );
  }
  return config;
}

/** What client-node's loadFromCluster builds, but from the given environment and directory. */
function inCluster(host: string, port: string, saDir: string): KubeConfig {
  const config = new KubeConfig();
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  config.loadFromOptions({
    clusters: [{ name: "in-cluster", server, caFile: path.join(saDir, "ca.crt"), skipTLSVerify: false }],
    users: [
      {
        name: "in-cluster",
        // The token file is re-read as it rotates (bound service account tokens expire).
        authProvider: { name: "tokenFile", config: { tokenFile: path.join(saDir, "token") } },
      },
    ],
    contexts: [{ name: "in-cluster", cluster: "in-cluster", user: "in-cluster" }],
    currentContext: "in-cluster",
  });
  return config;
}

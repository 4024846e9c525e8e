// loadKubeConfig's precedence (flag > KUBECONFIG > service account > ~/.kube/config) with temporary files.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { type LoadKubeConfigOptions, loadKubeConfig } from "./kube-config.ts";

function kubeconfig(name: string, server: string, extra = ""): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: ${name}
  cluster:
    server: ${server}
users:
- name: ${name}
  user:
    token: token-${name}
contexts:
- name: ${name}
  context:
    cluster: ${name}
    user: ${name}
current-context: ${name}
${extra}`;
}

describe("loadKubeConfig", () => {
  let dir: string;
  let files: Record<"flag" | "env1" | "env2" | "broken", string>;
  let home: string;
  let emptyHome: string;
  let sa: string;
  let noSa: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "fsb-kubeconfig-"));
    files = {
      flag: path.join(dir, "flag.yaml"),
      env1: path.join(dir, "env1.yaml"),
      env2: path.join(dir, "env2.yaml"),
      broken: path.join(dir, "broken.yaml"),
    };
    await writeFile(files.flag, kubeconfig("flag", "https://flag.example:6443"));
    await writeFile(files.env1, kubeconfig("env1", "https://env1.example:6443"));
    await writeFile(files.env2, kubeconfig("env2", "https://env2.example:6443"));
    await writeFile(files.broken, "apiVersion: v1\nkind: Config\ncurrent-context: missing\n");
    home = path.join(dir, "home");
    await mkdir(path.join(home, ".kube"), { recursive: true });
    await writeFile(path.join(home, ".kube", "config"), kubeconfig("home", "https://home.example:6443"));
    emptyHome = path.join(dir, "empty-home");
    await mkdir(emptyHome);
    sa = path.join(dir, "sa");
    await mkdir(sa);
    await writeFile(path.join(sa, "token"), "sa-token");
    await writeFile(path.join(sa, "ca.crt"), "not a real certificate");
    noSa = path.join(dir, "no-sa");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const inClusterEnv = { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" };
  const cases: Array<{
    name: string;
    options: () => LoadKubeConfigOptions;
    source: string;
    server: string;
  }> = [
    {
      name: "--kubeconfig wins over KUBECONFIG, the service account and home",
      options: () => ({
        kubeconfig: files.flag,
        env: { KUBECONFIG: files.env1, ...inClusterEnv },
        serviceAccountDir: sa,
        homeDir: home,
      }),
      source: "flag",
      server: "https://flag.example:6443",
    },
    {
      name: "KUBECONFIG wins over the service account and home",
      options: () => ({
        env: { KUBECONFIG: files.env1, ...inClusterEnv },
        serviceAccountDir: sa,
        homeDir: home,
      }),
      source: "env",
      server: "https://env1.example:6443",
    },
    {
      name: "an empty --kubeconfig counts as unset",
      options: () => ({ kubeconfig: "", env: { KUBECONFIG: files.env1 }, homeDir: home }),
      source: "env",
      server: "https://env1.example:6443",
    },
    {
      name: "the service account wins over home inside a Pod",
      options: () => ({ env: inClusterEnv, serviceAccountDir: sa, homeDir: home }),
      source: "in-cluster",
      server: "https://10.0.0.1:443",
    },
    {
      name: "an IPv6 service host is bracketed",
      options: () => ({
        env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" },
        serviceAccountDir: sa,
        homeDir: home,
      }),
      source: "in-cluster",
      server: "https://[fd00::1]:443",
    },
    {
      name: "without a mounted token the service host alone is not enough",
      options: () => ({ env: inClusterEnv, serviceAccountDir: noSa, homeDir: home }),
      source: "home",
      server: "https://home.example:6443",
    },
    {
      name: "~/.kube/config is the last resort",
      options: () => ({ env: {}, serviceAccountDir: noSa, homeDir: home }),
      source: "home",
      server: "https://home.example:6443",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const loaded = loadKubeConfig(c.options());
      assert.equal(loaded.source, c.source);
      assert.equal(loaded.kubeConfig.getCurrentCluster()?.server, c.server);
    });
  }

  it("reads the in-cluster token and CA from the service account directory", () => {
    const { kubeConfig, path: where } = loadKubeConfig({
      env: inClusterEnv,
      serviceAccountDir: sa,
      homeDir: home,
    });
    assert.equal(where, sa);
    assert.equal(kubeConfig.getCurrentCluster()?.caFile, path.join(sa, "ca.crt"));
    assert.deepEqual(kubeConfig.getCurrentUser()?.authProvider, {
      name: "tokenFile",
      config: { tokenFile: path.join(sa, "token") },
    });
  });

  it("merges a KUBECONFIG list: the first file's context, entries of the later files added", () => {
    const { kubeConfig } = loadKubeConfig({
      env: { KUBECONFIG: `${files.env1}${path.delimiter}${files.env2}` },
      homeDir: emptyHome,
    });
    assert.equal(kubeConfig.getCurrentContext(), "env1");
    assert.equal(kubeConfig.getCluster("env2")?.server, "https://env2.example:6443");
  });

  const failures: Array<{ name: string; options: () => LoadKubeConfigOptions; message: RegExp }> = [
    {
      name: "nothing to load",
      options: () => ({ env: {}, serviceAccountDir: noSa, homeDir: emptyHome }),
      message: /no Kubernetes configuration/,
    },
    {
      name: "a --kubeconfig that does not exist",
      options: () => ({ kubeconfig: path.join(dir, "missing.yaml"), env: {}, homeDir: home }),
      message: /cannot load kubeconfig .*missing\.yaml/,
    },
    {
      name: "a kubeconfig without a usable current context",
      options: () => ({ kubeconfig: files.broken, env: {}, homeDir: home }),
      message: /no current context with a cluster/,
    },
  ];
  for (const f of failures) {
    it(`fails with FAILED_PRECONDITION on ${f.name}`, () => {
      assert.throws(
        () => loadKubeConfig(f.options()),
        (err) => isFsbError(err, ErrorCode.FailedPrecondition) && f.message.test(err.message),
      );
    });
  }
});

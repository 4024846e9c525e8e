// Unit tests of parseJanitorConfig: defaults, flags over env, the token rule, help and bad values.
import assert from "node:assert/strict";
import os from "node:os";
import { describe, it } from "node:test";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { type JanitorConfig, parseJanitorConfig } from "./janitor-config.ts";

type Env = Record<string, string | undefined>;
const ENV: Env = { FSB_TOKEN: "env-token", FSB_CONTROLLER_URL: "http://ctl:9090" };
const noFile = (p: string): string => {
  throw new Error(`unexpected readFile(${p})`);
};

function configOf(argv: string[], env: Env = ENV, readFile = noFile): JanitorConfig {
  const parsed = parseJanitorConfig(argv, env, readFile);
  if (parsed.help) throw new Error("expected a configuration, got help");
  return parsed.config;
}

describe("parseJanitorConfig", () => {
  it("fills every field from the documented defaults", () => {
    assert.deepEqual(configOf([]), {
      containerdSocket: "/run/containerd/containerd.sock",
      containerdNamespace: "k8s.io",
      containerdState: "/run/containerd",
      snapshotter: "overlayfs",
      nodeName: os.hostname(),
      orphanTimeoutMs: 10_000,
      scanIntervalMs: 30_000,
      dryRun: false,
      metrics: { host: "", port: 9093 },
      ownership: "controller",
      kubeconfig: undefined,
      controllerUrl: "http://ctl:9090",
      token: "env-token",
      insecure: false,
      logDir: "/var/log/fast-sandbox",
      logRetentionMs: 3_600_000,
      networkStateDir: "/run/fast-sandbox/network",
      logLevel: "info",
      logFormat: "auto",
    });
  });

  it("takes every flag", () => {
    const config = configOf(
      [
        "--controller-url=http://127.0.0.1:1234",
        "--token-file=/t",
        "--containerd-socket=/s.sock",
        "--containerd-namespace=fsb-test",
        "--containerd-state=/state",
        "--snapshotter=native",
        "--node-name=n1",
        "--orphan-timeout=2s",
        "--scan-interval=1m",
        "--log-dir=/logs",
        "--log-retention=90m",
        "--network-state-dir=/claims",
        "--dry-run",
        "--metrics-bind-address=127.0.0.1:0",
        "--log-level=debug",
        "--log-format=text",
      ],
      { NODE_NAME: "from-env" },
      (p) => (p === "/t" ? "file-token\n" : noFile(p)),
    );
    assert.deepEqual(config, {
      containerdSocket: "/s.sock",
      containerdNamespace: "fsb-test",
      containerdState: "/state",
      snapshotter: "native",
      nodeName: "n1",
      orphanTimeoutMs: 2000,
      scanIntervalMs: 60_000,
      dryRun: true,
      metrics: { host: "127.0.0.1", port: 0 },
      ownership: "controller",
      kubeconfig: undefined,
      controllerUrl: "http://127.0.0.1:1234",
      token: "file-token",
      insecure: false,
      logDir: "/logs",
      logRetentionMs: 5_400_000,
      networkStateDir: "/claims",
      logLevel: "debug",
      logFormat: "text",
    });
  });

  it("takes the node name from NODE_NAME", () => {
    assert.equal(configOf([], { ...ENV, NODE_NAME: "node-7" }).nodeName, "node-7");
  });

  it("runs without a token only with --insecure", () => {
    const config = configOf(["--insecure"], { FSB_CONTROLLER_URL: "http://ctl:9090" });
    assert.equal(config.token, undefined);
    assert.equal(config.insecure, true);
  });

  it("reads ownership from Kubernetes without a controller or a token", () => {
    const config = configOf(["--ownership=kubernetes", "--kubeconfig=/etc/kube/config"], {});
    assert.equal(config.ownership, "kubernetes");
    assert.equal(config.kubeconfig, "/etc/kube/config");
    assert.equal(config.controllerUrl, undefined);
    assert.equal(config.token, undefined);
    assert.equal(config.insecure, false);
  });

  it("with Kubernetes ownership, still asks a controller that is named (its token required)", () => {
    const config = configOf(["--ownership", "kubernetes"], ENV);
    assert.deepEqual(
      [config.controllerUrl, config.token, config.kubeconfig],
      ["http://ctl:9090", "env-token", undefined],
    );
    assert.throws(
      () => configOf(["--ownership=kubernetes"], { FSB_CONTROLLER_URL: "http://c" }),
      (err) => err instanceof FsbError && err.code === ErrorCode.FailedPrecondition,
    );
  });

  it("answers --help with the usage", () => {
    const parsed = parseJanitorConfig(["-h"], {}, noFile);
    assert.ok(parsed.help);
    assert.match(parsed.usage, /--orphan-timeout/);
  });

  const bad: Array<{ name: string; argv: string[]; env?: Env; code: ErrorCode; field?: string }> = [
    { name: "no controller", argv: [], env: { FSB_TOKEN: "t" }, code: ErrorCode.FailedPrecondition },
    {
      name: "no token",
      argv: [],
      env: { FSB_CONTROLLER_URL: "http://c" },
      code: ErrorCode.FailedPrecondition,
    },
    {
      name: "controller URL without scheme",
      argv: ["--controller-url=ctl:9090"],
      code: ErrorCode.InvalidArgument,
      field: "--controller-url",
    },
    {
      name: "orphan timeout below one second",
      argv: ["--orphan-timeout=500ms"],
      code: ErrorCode.InvalidArgument,
      field: "--orphan-timeout",
    },
    {
      name: "bad duration",
      argv: ["--scan-interval=soon"],
      code: ErrorCode.InvalidArgument,
      field: "--scan-interval",
    },
    {
      name: "zero interval",
      argv: ["--scan-interval=0s"],
      code: ErrorCode.InvalidArgument,
      field: "--scan-interval",
    },
    {
      name: "relative log dir",
      argv: ["--log-dir=logs"],
      code: ErrorCode.InvalidArgument,
      field: "--log-dir",
    },
    {
      name: "namespace with a slash",
      argv: ["--containerd-namespace=a/b"],
      code: ErrorCode.InvalidArgument,
      field: "--containerd-namespace",
    },
    {
      name: "bad bind address",
      argv: ["--metrics-bind-address=9093"],
      code: ErrorCode.InvalidArgument,
      field: "--metrics-bind-address",
    },
    { name: "unknown flag", argv: ["--orphans=1"], code: ErrorCode.InvalidArgument },
    {
      name: "unknown ownership",
      argv: ["--ownership=etcd"],
      code: ErrorCode.InvalidArgument,
      field: "--ownership",
    },
    {
      name: "a kubeconfig for controller ownership",
      argv: ["--kubeconfig=/k"],
      code: ErrorCode.InvalidArgument,
      field: "--kubeconfig",
    },
    {
      name: "a bad controller URL with Kubernetes ownership",
      argv: ["--ownership=kubernetes", "--controller-url=ctl"],
      code: ErrorCode.InvalidArgument,
      field: "--controller-url",
    },
  ];
  for (const c of bad) {
    it(`rejects: ${c.name}`, () => {
      assert.throws(
        () => parseJanitorConfig(c.argv, c.env ?? ENV, noFile),
        (err) => {
          assert.ok(err instanceof FsbError, String(err));
          assert.equal(err.code, c.code);
          assert.equal(err.field, c.field);
          return true;
        },
      );
    });
  }
});

// Controller flags: the seed's defaults and every bad value named.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { parseControllerConfig } from "./controller-config.ts";

const env = { FSB_TOKEN: "t" };
const parse = (argv: string[], e: Record<string, string> = env) => {
  const parsed = parseControllerConfig(argv, e, () => "from-file\n");
  if (parsed.help) throw new Error("unexpected help");
  return parsed.config;
};

describe("parseControllerConfig", () => {
  it("has the seed's defaults", () => {
    const c = parse([]);
    assert.deepEqual(c.api, { host: "", port: 9090 });
    assert.deepEqual(c.metrics, { host: "", port: 9091 });
    assert.deepEqual(c.health, { host: "", port: 5758 });
    assert.equal(c.agentPort, 5758);
    assert.equal(c.consistencyMode, "fast");
    assert.equal(c.orphanTimeoutMs, 10_000);
    assert.equal(c.probeIntervalMs, 2000);
    assert.equal(c.lossTimeoutMs, 15_000);
    assert.equal(c.token, "t");
  });
  it("reads the token file over the environment", () => {
    assert.equal(parse(["--token-file", "/x"]).token, "from-file");
  });
  it("refuses to start without a token unless insecure", () => {
    assert.throws(
      () => parse([], {}),
      (e: unknown) => isFsbError(e, ErrorCode.FailedPrecondition),
    );
    assert.equal(parse(["--insecure"], {}).insecure, true);
  });
  const bad: Array<{ name: string; argv: string[]; field: string }> = [
    { name: "mode", argv: ["--fastpath-consistency-mode", "eventual"], field: "--fastpath-consistency-mode" },
    {
      name: "orphan timeout",
      argv: ["--fastpath-orphan-timeout", "ten"],
      field: "--fastpath-orphan-timeout",
    },
    { name: "bind address", argv: ["--metrics-bind-address", "9091"], field: "--metrics-bind-address" },
    {
      name: "loss not above probe",
      argv: ["--agent-probe-interval", "5s", "--agent-loss-timeout", "5s"],
      field: "--agent-loss-timeout",
    },
    { name: "relative data dir", argv: ["--data-dir", "data"], field: "--data-dir" },
    { name: "pool", argv: ["--pool", "Pool"], field: "--pool" },
    { name: "agent port", argv: ["--agent-port", "70000"], field: "--agent-port" },
  ];
  for (const tc of bad) {
    it(`rejects a bad ${tc.name}`, () =>
      assert.throws(
        () => parse(tc.argv),
        (e: unknown) => isFsbError(e, ErrorCode.InvalidArgument) && e.field === tc.field,
      ));
  }
});

describe("pools and Kubernetes mode flags", () => {
  const invalid = (argv: string[], field: string, e: Record<string, string> = env) =>
    assert.throws(
      () => parse(argv, e),
      (err: unknown) => isFsbError(err, ErrorCode.InvalidArgument) && err.field === field,
    );

  it("seeds no pool by default, and a fixed one from --local-agents", () => {
    assert.equal(parse([]).seedPool, undefined);
    assert.deepEqual(parse(["--local-agents", "2", "--local-agent-capacity", "3"]).seedPool, {
      poolMin: 2,
      poolMax: 2,
      bufferMin: 0,
      bufferMax: 10,
      maxSandboxesPerPod: 3,
      networkMode: "isolated",
    });
    assert.equal(parse(["--local-agents", "1", "--pool-max", "4"]).seedPool?.poolMax, 4);
    assert.equal(parse(["--local-agents", "1", "--pool-network", "agent"]).seedPool?.networkMode, "agent");
  });

  it("rejects a seed pool whose bounds cross", () => {
    invalid(["--local-agents", "3", "--pool-max", "2"], "--pool-max");
    invalid(["--local-agents", "1", "--pool-buffer-min", "5", "--pool-buffer-max", "2"], "--pool-buffer-max");
    invalid(["--agent-launcher", "docker"], "--agent-launcher");
    invalid(["--local-agents", "1", "--pool-network", "bridge"], "--pool-network");
  });

  it("uses the Kubernetes store and Pod launcher inside a Pod, SQLite and local processes elsewhere", () => {
    const local = parse([]);
    assert.equal(local.store, "sqlite");
    assert.equal(local.agentLauncher, "local");
    const inPod = parse([], { ...env, KUBERNETES_SERVICE_HOST: "10.0.0.1", POD_NAMESPACE: "fsb-system" });
    assert.equal(inPod.store, "kubernetes");
    assert.equal(inPod.agentLauncher, "kubernetes");
    assert.equal(inPod.leaderElectionNamespace, "fsb-system");
    assert.equal(parse(["--store", "kubernetes", "--agent-launcher", "none"]).agentLauncher, "none");
  });

  it("needs the Kubernetes store for leader election, and DNS names for its objects", () => {
    invalid(["--leader-elect"], "--leader-elect");
    assert.equal(parse(["--store", "kubernetes", "--leader-elect"]).leaderElect, true);
    invalid(["--store", "etcd"], "--store");
    invalid(["--store", "kubernetes", "--leader-election-id", "Not_A_Name"], "--leader-election-id");
    invalid(["--agent-token-secret", "bad/secret"], "--agent-token-secret");
  });

  it("takes the election's timings, 8 s / 6 s / 1 s by default, and refuses ones that cannot work", () => {
    const defaults = parse(["--store", "kubernetes", "--leader-elect"]);
    assert.deepEqual(
      [defaults.leaseDurationMs, defaults.renewDeadlineMs, defaults.retryPeriodMs],
      [8000, 6000, 1000],
    );
    const clientGo = parse([
      "--leader-elect-lease-duration=15s",
      "--leader-elect-renew-deadline=10s",
      "--leader-elect-retry-period=2s",
    ]);
    assert.deepEqual(
      [clientGo.leaseDurationMs, clientGo.renewDeadlineMs, clientGo.retryPeriodMs],
      [15000, 10000, 2000],
    );
    invalid(["--leader-elect-lease-duration=7500ms"], "--leader-elect-lease-duration");
    invalid(["--leader-elect-renew-deadline=8s"], "--leader-elect-renew-deadline");
    invalid(["--leader-elect-retry-period=6s"], "--leader-elect-retry-period");
    invalid(["--leader-elect-retry-period=0s"], "--leader-elect-retry-period");
  });
});

// Unit tests of parseAgentConfig: defaults, env and flag precedence, the token rule, help and bad values.
import assert from "node:assert/strict";
import os from "node:os";
import { describe, it } from "node:test";
import { ErrorCode, FsbError, isDnsLabel } from "@fast-sandbox/api";
import { type AgentConfig, DEFAULT_RUNSC_BINARY, parseAgentConfig } from "./agent-config.ts";

type Env = Record<string, string | undefined>;

const TOKEN_ENV: Env = { FSB_AGENT_TOKEN: "env-token" };

/** A readFile that fails the test if called: most cases pass no --token-file. */
const noFile = (p: string): string => {
  throw new Error(`unexpected readFile(${p})`);
};

function configOf(argv: string[], env: Env = TOKEN_ENV, readFile = noFile): AgentConfig {
  const parsed = parseAgentConfig(argv, env, readFile);
  assert.equal(parsed.help, false, "expected a configuration, got help");
  if (parsed.help) throw new Error("unreachable");
  return parsed.config;
}

function assertFsbError(run: () => unknown, code: ErrorCode, field: string | undefined): void {
  assert.throws(run, (err) => {
    assert.ok(err instanceof FsbError, `want FsbError, got ${err}`);
    assert.equal(err.code, code);
    assert.equal(err.field, field);
    return true;
  });
}

describe("parseAgentConfig defaults", () => {
  it("fills every field from the documented defaults", () => {
    const config = configOf([], { FSB_AGENT_TOKEN: "t0k" });
    const { agentId, nodeName, ...rest } = config;
    assert.deepEqual(rest, {
      pool: "default-pool",
      namespace: "default",
      controllerUrl: undefined,
      controllerToken: undefined,
      advertiseAddress: "127.0.0.1",
      listenAddress: "0.0.0.0",
      httpPort: 5758,
      containerdSocket: "/run/containerd/containerd.sock",
      containerdNamespace: "k8s.io",
      snapshotter: "overlayfs",
      logDir: "/var/log/fast-sandbox",
      runtime: "container",
      runscBinary: undefined,
      network: { kind: "agent" },
      sandboxNetwork: {
        defaultMode: "agent",
        range: { base: 0x0ad40000, bits: 16 },
        bits: 24,
        poolSize: 4,
        restricted: [],
        stateDir: "/run/fast-sandbox/network",
        defaultEgress: { default: "allow", allow: [], deny: [] },
      },
      seccomp: { kind: "runtime-default" },
      capacity: 5,
      maxPrewarm: 10,
      maxProcesses: 16,
      anchorDir: "/var/lib/fast-sandbox/anchor",
      resyncIntervalMs: 15_000,
      token: "t0k",
      insecure: false,
      defaultGracePeriodSeconds: 10,
      logLevel: "info",
      logFormat: "auto",
      pidFile: undefined,
    });
    assert.equal(nodeName, os.hostname());
    assert.ok(isDnsLabel(agentId), `agent id from the hostname must be a DNS label, got "${agentId}"`);
  });
});

describe("parseAgentConfig env and flags", () => {
  const cases: Array<{
    name: string;
    argv: string[];
    env: Env;
    got: (c: AgentConfig) => unknown;
    want: unknown;
  }> = [
    {
      name: "--seccomp unconfined turns the filter off",
      argv: ["--seccomp", "unconfined"],
      env: TOKEN_ENV,
      got: (c) => c.seccomp,
      want: { kind: "unconfined" },
    },
    {
      name: "AGENT_CAPACITY sets the capacity",
      argv: [],
      env: { ...TOKEN_ENV, AGENT_CAPACITY: "12" },
      got: (c) => c.capacity,
      want: 12,
    },
    {
      name: "--capacity wins over AGENT_CAPACITY",
      argv: ["--capacity", "3"],
      env: { ...TOKEN_ENV, AGENT_CAPACITY: "12" },
      got: (c) => c.capacity,
      want: 3,
    },
    {
      name: "empty AGENT_CAPACITY falls back to the default",
      argv: [],
      env: { ...TOKEN_ENV, AGENT_CAPACITY: "" },
      got: (c) => c.capacity,
      want: 5,
    },
    {
      name: "--capacity accepts the upper bound 1000",
      argv: ["--capacity", "1000"],
      env: TOKEN_ENV,
      got: (c) => c.capacity,
      want: 1000,
    },
    {
      name: "AGENT_MAX_PREWARM sets the prewarm limit",
      argv: [],
      env: { ...TOKEN_ENV, AGENT_MAX_PREWARM: "4" },
      got: (c) => c.maxPrewarm,
      want: 4,
    },
    {
      name: "--max-prewarm wins over AGENT_MAX_PREWARM, and 0 turns prewarming off",
      argv: ["--max-prewarm", "0"],
      env: { ...TOKEN_ENV, AGENT_MAX_PREWARM: "4" },
      got: (c) => c.maxPrewarm,
      want: 0,
    },
    {
      name: "AGENT_MAX_PROCESSES sets the per-sandbox process cap, and --max-processes wins",
      argv: ["--max-processes", "3"],
      env: { ...TOKEN_ENV, AGENT_MAX_PROCESSES: "8" },
      got: (c) => c.maxProcesses,
      want: 3,
    },
    {
      name: "--max-prewarm accepts the upper bound 100",
      argv: ["--max-prewarm", "100"],
      env: TOKEN_ENV,
      got: (c) => c.maxPrewarm,
      want: 100,
    },
    {
      name: "--pid-file sets where the PID is written",
      argv: ["--pid-file", "/run/fsb/agent-0.pid"],
      env: TOKEN_ENV,
      got: (c) => c.pidFile,
      want: "/run/fsb/agent-0.pid",
    },
    {
      name: "--anchor-dir sets where the anchor's rootfs is made, without a trailing slash",
      argv: ["--anchor-dir", "/srv/fsb/anchor/"],
      env: TOKEN_ENV,
      got: (c) => c.anchorDir,
      want: "/srv/fsb/anchor",
    },
    {
      name: "--resync-interval is in seconds",
      argv: ["--resync-interval", "30"],
      env: TOKEN_ENV,
      got: (c) => c.resyncIntervalMs,
      want: 30_000,
    },
    {
      name: "--resync-interval accepts the upper bound of an hour",
      argv: ["--resync-interval", "3600"],
      env: TOKEN_ENV,
      got: (c) => c.resyncIntervalMs,
      want: 3_600_000,
    },
    {
      name: "AGENT_ID sets the agent id",
      argv: [],
      env: { ...TOKEN_ENV, AGENT_ID: "from-env", POD_NAME: "from-pod" },
      got: (c) => c.agentId,
      want: "from-env",
    },
    {
      name: "POD_NAME sets the agent id when AGENT_ID is unset",
      argv: [],
      env: { ...TOKEN_ENV, POD_NAME: "agent-abc12" },
      got: (c) => c.agentId,
      want: "agent-abc12",
    },
    {
      name: "--agent-id wins over AGENT_ID",
      argv: ["--agent-id", "from-flag"],
      env: { ...TOKEN_ENV, AGENT_ID: "from-env" },
      got: (c) => c.agentId,
      want: "from-flag",
    },
    {
      name: "--pool wins over AGENT_POOL",
      argv: ["--pool", "flag-pool"],
      env: { ...TOKEN_ENV, AGENT_POOL: "env-pool" },
      got: (c) => c.pool,
      want: "flag-pool",
    },
    {
      name: "AGENT_POOL sets the pool",
      argv: [],
      env: { ...TOKEN_ENV, AGENT_POOL: "env-pool" },
      got: (c) => c.pool,
      want: "env-pool",
    },
    {
      name: "--node-name wins over NODE_NAME",
      argv: ["--node-name", "flag-node"],
      env: { ...TOKEN_ENV, NODE_NAME: "env-node" },
      got: (c) => c.nodeName,
      want: "flag-node",
    },
    {
      name: "--advertise-address wins over POD_IP",
      argv: ["--advertise-address", "10.0.0.2"],
      env: { ...TOKEN_ENV, POD_IP: "10.0.0.1" },
      got: (c) => c.advertiseAddress,
      want: "10.0.0.2",
    },
    {
      name: "POD_IP sets the advertise address",
      argv: [],
      env: { ...TOKEN_ENV, POD_IP: "10.0.0.1" },
      got: (c) => c.advertiseAddress,
      want: "10.0.0.1",
    },
    {
      name: "--log-level wins over LOG_LEVEL",
      argv: ["--log-level", "debug"],
      env: { ...TOKEN_ENV, LOG_LEVEL: "warn" },
      got: (c) => c.logLevel,
      want: "debug",
    },
    {
      name: "--log-format wins over LOG_FORMAT",
      argv: ["--log-format", "json"],
      env: { ...TOKEN_ENV, LOG_FORMAT: "text" },
      got: (c) => c.logFormat,
      want: "json",
    },
    {
      name: "containerd and HTTP flags are taken as given",
      argv: [
        "--containerd-socket",
        "/tmp/c.sock",
        "--containerd-namespace",
        "fsb-test",
        "--snapshotter",
        "native",
        "--http-port",
        "65535",
        "--listen-address",
        "127.0.0.1",
        "--log-dir",
        "/tmp/logs",
        "--grace-period",
        "0",
      ],
      env: TOKEN_ENV,
      got: (c) => [
        c.containerdSocket,
        c.containerdNamespace,
        c.snapshotter,
        c.httpPort,
        c.listenAddress,
        c.logDir,
        c.defaultGracePeriodSeconds,
      ],
      want: ["/tmp/c.sock", "fsb-test", "native", 65535, "127.0.0.1", "/tmp/logs", 0],
    },
    {
      name: "--network host",
      argv: ["--network", "host"],
      env: TOKEN_ENV,
      got: (c) => c.network,
      want: { kind: "host" },
    },
    {
      name: "--network with an absolute netns path",
      argv: ["--network", "/var/run/netns/sbx"],
      env: TOKEN_ENV,
      got: (c) => c.network,
      want: { kind: "path", path: "/var/run/netns/sbx" },
    },
    {
      name: "--runtime gvisor with --runsc-binary",
      argv: ["--runtime", "gvisor", "--runsc-binary", "/usr/local/bin/runsc-wrap"],
      env: TOKEN_ENV,
      got: (c) => [c.runtime, c.runscBinary],
      want: ["gvisor", "/usr/local/bin/runsc-wrap"],
    },
    {
      name: "--runtime gvisor with FSB_RUNSC_BINARY",
      argv: ["--runtime", "gvisor"],
      env: { ...TOKEN_ENV, FSB_RUNSC_BINARY: "/opt/runsc" },
      got: (c) => [c.runtime, c.runscBinary],
      want: ["gvisor", "/opt/runsc"],
    },
    {
      name: "--runtime gvisor defaults --runsc-binary to the project's wrapper",
      argv: ["--runtime", "gvisor"],
      env: TOKEN_ENV,
      got: (c) => c.runscBinary,
      want: DEFAULT_RUNSC_BINARY,
    },
    {
      name: "--runsc-binary wins over FSB_RUNSC_BINARY",
      argv: ["--runtime", "gvisor", "--runsc-binary", "/flag/runsc"],
      env: { ...TOKEN_ENV, FSB_RUNSC_BINARY: "/env/runsc" },
      got: (c) => c.runscBinary,
      want: "/flag/runsc",
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      assert.deepEqual(tc.got(configOf(tc.argv, tc.env)), tc.want);
    });
  }
});

describe("parseAgentConfig --seccomp PATH", () => {
  const profile = {
    defaultAction: "SCMP_ACT_ERRNO",
    syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }],
  };

  it("reads and checks the profile file at start", () => {
    const readFile = (p: string) => (p === "/etc/fsb/seccomp.json" ? JSON.stringify(profile) : noFile(p));
    const config = configOf(["--seccomp", "/etc/fsb/seccomp.json"], TOKEN_ENV, readFile);
    assert.deepEqual(config.seccomp, { kind: "localhost", path: "/etc/fsb/seccomp.json", profile });
  });

  const bad: Array<{ name: string; readFile: (p: string) => string }> = [
    { name: "a missing file", readFile: noFile },
    { name: "a file that is not JSON", readFile: () => "not json" },
    { name: "a file that is not a profile", readFile: () => JSON.stringify({ syscalls: [] }) },
  ];
  for (const tc of bad) {
    it(`refuses ${tc.name}, naming --seccomp`, () => {
      assertFsbError(
        () => parseAgentConfig(["--seccomp", "/etc/fsb/seccomp.json"], TOKEN_ENV, tc.readFile),
        ErrorCode.InvalidArgument,
        "--seccomp",
      );
    });
  }
});

describe("parseAgentConfig token", () => {
  it("takes the token from FSB_AGENT_TOKEN", () => {
    const config = configOf([], { FSB_AGENT_TOKEN: "s3cret" });
    assert.equal(config.token, "s3cret");
    assert.equal(config.insecure, false);
  });

  it("reads --token-file through the injected readFile, trimmed, and prefers it to the env", () => {
    const read: string[] = [];
    const config = configOf(["--token-file", "/etc/fsb/token"], { FSB_AGENT_TOKEN: "env-token" }, (p) => {
      read.push(p);
      return "  file-token \n";
    });
    assert.deepEqual(read, ["/etc/fsb/token"]);
    assert.equal(config.token, "file-token");
    assert.equal(config.insecure, false);
  });

  it("--insecure without a token runs with no token", () => {
    const config = configOf(["--insecure"], {});
    assert.equal(config.token, undefined);
    assert.equal(config.insecure, true);
  });

  it("--insecure with a token still enforces the token", () => {
    const config = configOf(["--insecure"], { FSB_AGENT_TOKEN: "t" });
    assert.equal(config.token, "t");
    assert.equal(config.insecure, false);
  });

  const refusals: Array<{ name: string; argv: string[]; env: Env; file?: string }> = [
    { name: "no token at all", argv: [], env: {} },
    { name: "an empty FSB_AGENT_TOKEN", argv: [], env: { FSB_AGENT_TOKEN: "" } },
    { name: "a token file holding only whitespace", argv: ["--token-file", "/t"], env: {}, file: " \n\t" },
    {
      name: "an empty token file even when FSB_AGENT_TOKEN is set",
      argv: ["--token-file", "/t"],
      env: { FSB_AGENT_TOKEN: "env-token" },
      file: "",
    },
  ];
  for (const tc of refusals) {
    it(`refuses to start with ${tc.name} (FAILED_PRECONDITION)`, () => {
      assertFsbError(
        () => parseAgentConfig(tc.argv, tc.env, () => tc.file ?? noFile("/t")),
        ErrorCode.FailedPrecondition,
        undefined,
      );
    });
  }
});

describe("parseAgentConfig --help", () => {
  for (const argv of [["--help"], ["-h"], ["--http-port", "abc", "--help"]]) {
    it(`${argv.join(" ")} returns the usage without needing a token`, () => {
      const parsed = parseAgentConfig(argv, {}, noFile);
      assert.equal(parsed.help, true);
      if (!parsed.help) return;
      assert.match(parsed.usage, /^Usage: fsb-agent \[flags\]/);
      for (const flag of [
        "--token-file",
        "--capacity",
        "--max-prewarm",
        "--runtime",
        "--network",
        "--insecure",
        "--anchor-dir",
        "--resync-interval",
      ]) {
        assert.ok(parsed.usage.includes(flag), `usage should mention ${flag}`);
      }
    });
  }
});

describe("parseAgentConfig bad values", () => {
  const cases: Array<{ name: string; argv: string[]; env?: Env; field: string | undefined }> = [
    { name: "--http-port 0", argv: ["--http-port", "0"], field: "--http-port" },
    { name: "--http-port 70000", argv: ["--http-port", "70000"], field: "--http-port" },
    { name: "--http-port abc", argv: ["--http-port", "abc"], field: "--http-port" },
    { name: "--http-port -1", argv: ["--http-port=-1"], field: "--http-port" },
    { name: "--http-port 1.5", argv: ["--http-port", "1.5"], field: "--http-port" },
    { name: "--capacity 0", argv: ["--capacity", "0"], field: "--capacity" },
    { name: "--capacity 1001", argv: ["--capacity", "1001"], field: "--capacity" },
    {
      name: "AGENT_CAPACITY=0",
      argv: [],
      env: { ...TOKEN_ENV, AGENT_CAPACITY: "0" },
      field: "AGENT_CAPACITY",
    },
    {
      name: "AGENT_CAPACITY=many",
      argv: [],
      env: { ...TOKEN_ENV, AGENT_CAPACITY: "many" },
      field: "AGENT_CAPACITY",
    },
    { name: "--max-prewarm 101", argv: ["--max-prewarm", "101"], field: "--max-prewarm" },
    {
      name: "AGENT_MAX_PREWARM=-1",
      argv: [],
      env: { ...TOKEN_ENV, AGENT_MAX_PREWARM: "-1" },
      field: "AGENT_MAX_PREWARM",
    },
    { name: '--agent-id "Bad_ID"', argv: ["--agent-id", "Bad_ID"], field: "--agent-id" },
    { name: "AGENT_ID=Bad_ID", argv: [], env: { ...TOKEN_ENV, AGENT_ID: "Bad_ID" }, field: "--agent-id" },
    { name: "--agent-id of 64 characters", argv: ["--agent-id", "a".repeat(64)], field: "--agent-id" },
    { name: "--pool Bad.Pool", argv: ["--pool", "Bad.Pool"], field: "--pool" },
    { name: "--runtime foo", argv: ["--runtime", "foo"], field: "--runtime" },
    { name: "relative --log-dir", argv: ["--log-dir", "logs"], field: "--log-dir" },
    {
      name: "relative --containerd-socket",
      argv: ["--containerd-socket", "containerd.sock"],
      field: "--containerd-socket",
    },
    { name: "--network garbage", argv: ["--network", "garbage"], field: "--network" },
    { name: "--network relative path", argv: ["--network", "netns/x"], field: "--network" },
    { name: "--network-mode unknown", argv: ["--network-mode", "bridge"], field: "--network-mode" },
    {
      name: "--sandbox-subnet-range not a CIDR",
      argv: ["--sandbox-subnet-range", "10.212.0.0"],
      field: "--sandbox-subnet-range",
    },
    {
      name: "--sandbox-subnet-range with host bits",
      argv: ["--sandbox-subnet-range", "10.212.1.0/16"],
      field: "--sandbox-subnet-range",
    },
    {
      name: "--sandbox-subnet-bits not nibble-aligned",
      argv: ["--sandbox-subnet-bits", "25"],
      field: "--sandbox-subnet-bits",
    },
    { name: "--netns-pool too large", argv: ["--netns-pool", "100"], field: "--netns-pool" },
    { name: "--egress-default unknown", argv: ["--egress-default", "maybe"], field: "--egress-default" },
    {
      name: "--egress-allow with host bits",
      argv: ["--egress-allow", "10.0.0.1/8"],
      field: "--egress-allow",
    },
    {
      name: "--network-restrict with a bad entry",
      argv: ["--network-restrict", "10.0.0.0/8,nope"],
      field: "--network-restrict",
    },
    { name: "--seccomp RuntimeDefault", argv: ["--seccomp", "RuntimeDefault"], field: "--seccomp" },
    { name: "--seccomp relative path", argv: ["--seccomp", "profile.json"], field: "--seccomp" },
    { name: "--grace-period 3601", argv: ["--grace-period", "3601"], field: "--grace-period" },
    { name: "relative --pid-file", argv: ["--pid-file", "agent.pid"], field: "--pid-file" },
    { name: "relative --anchor-dir", argv: ["--anchor-dir", "anchor"], field: "--anchor-dir" },
    { name: "--anchor-dir /", argv: ["--anchor-dir", "/"], field: "--anchor-dir" },
    { name: "--anchor-dir with ..", argv: ["--anchor-dir", "/var/lib/../tmp"], field: "--anchor-dir" },
    { name: "--anchor-dir with //", argv: ["--anchor-dir", "/var//lib"], field: "--anchor-dir" },
    { name: "--resync-interval 0", argv: ["--resync-interval", "0"], field: "--resync-interval" },
    { name: "--resync-interval 3601", argv: ["--resync-interval", "3601"], field: "--resync-interval" },
    { name: "--resync-interval 1.5", argv: ["--resync-interval", "1.5"], field: "--resync-interval" },
    { name: "--log-level bogus", argv: ["--log-level", "bogus"], field: "--log-level" },
    {
      name: "LOG_LEVEL=verbose",
      argv: [],
      env: { ...TOKEN_ENV, LOG_LEVEL: "verbose" },
      field: "--log-level",
    },
    { name: "an unknown flag", argv: ["--bogus"], field: undefined },
    { name: "a positional argument", argv: ["serve"], field: undefined },
    { name: "a string flag without a value", argv: ["--http-port"], field: undefined },
  ];
  for (const tc of cases) {
    it(`${tc.name} is INVALID_ARGUMENT on ${tc.field ?? "no field"}`, () => {
      assertFsbError(
        () => parseAgentConfig(tc.argv, tc.env ?? TOKEN_ENV, noFile),
        ErrorCode.InvalidArgument,
        tc.field,
      );
    });
  }

  it("an unknown flag's message names the flag and carries the usage", () => {
    assert.throws(
      () => parseAgentConfig(["--bogus"], TOKEN_ENV, noFile),
      (err) => {
        assert.ok(err instanceof FsbError);
        assert.match(err.message, /--bogus/);
        assert.match(err.message, /Usage: fsb-agent/);
        return true;
      },
    );
  });
});

// fsb-standalone's own flags: taken out of the command line (the rest goes to the controller), validated by name.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { parseStandaloneArgs, type StandaloneConfig } from "./standalone-config.ts";
import { standaloneControllerConfig } from "./standalone-controller-config.ts";

const ROOT = "/repo";

function configOf(argv: string[], env: Record<string, string> = {}): StandaloneConfig {
  const parsed = parseStandaloneArgs(argv, env, ROOT);
  assert.equal(parsed.help, false);
  return (parsed as { config: StandaloneConfig }).config;
}

describe("parseStandaloneArgs", () => {
  it("defaults to the repository's .fsb-dev and .fsb/config.yaml, auto containerd, janitor on :9093", () => {
    assert.deepEqual(configOf([]), {
      stateDir: "/repo/.fsb-dev",
      containerd: { kind: "auto" },
      janitorMetrics: { host: "127.0.0.1", port: 9093 },
      cliConfigFile: "/repo/.fsb/config.yaml",
      controllerArgs: [],
    });
  });

  const cases: Array<{
    name: string;
    argv: string[];
    env?: Record<string, string>;
    want: Partial<StandaloneConfig>;
  }> = [
    {
      name: "takes its own flags in both forms and passes the rest on, in order",
      argv: [
        "--api-bind-address",
        ":19090",
        "--state-dir=/s",
        "--log-level",
        "debug",
        "--containerd",
        "private",
      ],
      want: {
        stateDir: "/s",
        containerd: { kind: "private" },
        controllerArgs: ["--api-bind-address", ":19090", "--log-level", "debug"],
      },
    },
    {
      name: "a socket path picks that containerd",
      argv: ["--containerd", "/run/k3s/containerd/containerd.sock"],
      want: { containerd: { kind: "socket", socketPath: "/run/k3s/containerd/containerd.sock" } },
    },
    {
      name: "FSB_STATE_DIR and FSB_CONTAINERD_SOCKET are the flags' defaults",
      argv: [],
      env: { FSB_STATE_DIR: "/env-state", FSB_CONTAINERD_SOCKET: "/env.sock" },
      want: { stateDir: "/env-state", containerd: { kind: "socket", socketPath: "/env.sock" } },
    },
    {
      name: "the flags win over the environment",
      argv: ["--state-dir", "/flag-state"],
      env: { FSB_STATE_DIR: "/env-state" },
      want: { stateDir: "/flag-state" },
    },
    {
      name: "the janitor's port and the CLI config move",
      argv: ["--janitor-metrics-bind-address", "127.0.0.1:19093", "--cli-config", "/w/.fsb/config.yaml"],
      want: { janitorMetrics: { host: "127.0.0.1", port: 19093 }, cliConfigFile: "/w/.fsb/config.yaml" },
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const config = configOf(tc.argv, tc.env);
      for (const [key, value] of Object.entries(tc.want)) {
        assert.deepEqual(config[key as keyof StandaloneConfig], value, key);
      }
    });
  }

  it("a relative --state-dir is taken from the working directory", () => {
    assert.equal(configOf(["--state-dir", "here"]).stateDir, `${process.cwd()}/here`);
  });

  const bad: Array<{ argv: string[]; field: string }> = [
    { argv: ["--state-dir"], field: "--state-dir" },
    { argv: ["--containerd", "--api-bind-address", ":1"], field: "--containerd" },
    { argv: ["--containerd", "node"], field: "--containerd" },
    { argv: ["--janitor-metrics-bind-address", "9093"], field: "--janitor-metrics-bind-address" },
  ];
  for (const tc of bad) {
    it(`${tc.argv.join(" ")} is INVALID_ARGUMENT on ${tc.field}`, () => {
      assert.throws(
        () => parseStandaloneArgs(tc.argv, {}, ROOT),
        (err) => isFsbError(err, ErrorCode.InvalidArgument) && err.field === tc.field,
      );
    });
  }

  it("--help shows its flags, the ports and where each goes", () => {
    const parsed = parseStandaloneArgs(["--api-bind-address", ":1", "--help"], {}, ROOT);
    assert.equal(parsed.help, true);
    if (!parsed.help) return;
    for (const flag of [
      "--state-dir",
      "--containerd",
      "--janitor-metrics-bind-address",
      "--cli-config",
      "--api-bind-address",
      "--metrics-bind-address",
      "--health-probe-bind-address",
      "--agent-port",
    ]) {
      assert.ok(parsed.usage.includes(flag), `usage should mention ${flag}`);
    }
  });
});

describe("standaloneControllerConfig", () => {
  const tokens = { token: "t", agentToken: "a" };

  it("puts the controller's data in the state dir, seeds the default pool, and lets the user's flags win", () => {
    const parsed = standaloneControllerConfig(
      configOf(["--state-dir", "/s", "--health-probe-bind-address", "127.0.0.1:19092", "--pool-max", "2"]),
      tokens,
      {},
    );
    assert.equal(parsed.help, false);
    if (parsed.help) return;
    const c = parsed.config;
    assert.deepEqual(
      [c.dataDir, c.agentLogDir, c.containerdNamespace, c.health, c.seedPool?.poolMin, c.seedPool?.poolMax],
      ["/s/controller", "/s/controller/logs", "k8s.io", { host: "127.0.0.1", port: 19092 }, 1, 2],
    );
    assert.deepEqual([c.token, c.agentToken], ["t", "a"]);
  });

  it("refuses --log-format, which nothing of it would read", () => {
    assert.throws(
      () => standaloneControllerConfig(configOf(["--log-format", "text"]), tokens, {}),
      (err) => isFsbError(err, ErrorCode.InvalidArgument) && err.field === "--log-format",
    );
  });

  it("refuses --containerd-socket, naming --containerd instead", () => {
    assert.throws(
      () => standaloneControllerConfig(configOf(["--containerd-socket=/x.sock"]), tokens, {}),
      (err) => isFsbError(err, ErrorCode.InvalidArgument) && /--containerd\b/.test(err.message),
    );
  });
});

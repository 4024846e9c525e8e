// The janitor's network pass against what a real agent leaves after kill -9: its namespaces, subnet
// claim, bridge and firewall tables go once no container uses them; a live agent's stay.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Labels } from "@fast-sandbox/api";
import pino from "pino";
import {
  type AgentProcess,
  freePort,
  removeLogDir,
  startAgentProcess,
  tempLogDir,
} from "../../../../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_NAMESPACE } from "../../../../test/harness/constants.ts";
import { testConnection } from "../../../../test/harness/containerd.ts";
import { sh } from "../../../../test/harness/outside-network.ts";
import type { ContainerdConnection } from "../containerd/connection.ts";
import { ContainerRuntime } from "../containerd/container-runtime.ts";
import { hostNetTools } from "../network/net-tools.ts";
import { sweepNetworks } from "./network-sweep.ts";

/** Clear of the ranges of the other suites, so their agents' subnets never meet this one's. */
const RANGE = "10.216.0.0/16";

describe("the janitor's network pass", { concurrency: false }, () => {
  const agentId = `sweep-${process.pid}`;
  const logger = pino({ level: "silent" });
  let conn: ContainerdConnection;
  let runtime: ContainerRuntime;
  let logDir: string;
  let stateDir: string;
  let agent: AgentProcess | undefined;
  const ours = () =>
    sh("ip", ["netns", "list"])
      .split("\n")
      .filter((l) => l.startsWith("fsb-10.216."));
  const sweep = async () =>
    sweepNetworks({ stateDir, tools: hostNetTools }, await runtime.list({ [Labels.Agent]: agentId }), {
      now: Date.now(),
      graceMs: 0,
      dryRun: false,
      logger,
    });

  before(async () => {
    conn = await testConnection();
    runtime = new ContainerRuntime(conn);
    logDir = await tempLogDir();
    stateDir = await mkdtemp(path.join(os.tmpdir(), "fsb-sweep-"));
  });
  after(async () => {
    await agent?.kill9();
    for (const c of await runtime.list({ [Labels.Agent]: agentId }))
      await runtime.delete(c.id, { gracePeriodMs: 0 });
    await sweep();
    await rm(stateDir, { recursive: true, force: true });
    await removeLogDir(logDir);
    conn.close();
  });

  it("keeps everything of a live agent and of a running sandbox, and removes the rest once the agent is gone", async () => {
    agent = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      agentId,
      logDir,
      port: await freePort(),
      extraArgs: [
        "--network-mode",
        "isolated",
        "--sandbox-subnet-range",
        RANGE,
        "--network-state-dir",
        stateDir,
        "--netns-pool",
        "2",
      ],
    });
    const sandboxId = `${agentId}-1`;
    const created = await agent.request("POST", "/api/v1/agent/create", {
      sandbox: {
        sandboxId,
        name: "sweep",
        image: TEST_IMAGE,
        command: ["sleep", "600"],
        exposedPorts: [8080],
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const sandboxNetns = `fsb-${String(created.body.endpoints[0] ?? "").split(":")[0]}`;
    // The agent fills its pool in the background: wait for the sandbox's and two ready ones.
    for (let i = 0; i < 50 && ours().length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(ours().length, 3, ours().join(","));

    assert.deepEqual(await sweep(), { namespaces: [], subnets: [] }, "a live agent's network is its own");

    await agent.kill9();
    agent = undefined;
    const gone = await sweep();
    assert.equal(gone.namespaces.length, 2, "the ready namespaces go; the running sandbox's stays");
    assert.deepEqual(gone.subnets, []);
    assert.deepEqual(
      ours().map((l) => l.split(" ")[0]),
      [sandboxNetns],
    );

    await runtime.delete(sandboxId, { gracePeriodMs: 0 });
    const last = await sweep();
    assert.deepEqual(last.namespaces, [sandboxNetns]);
    assert.equal(last.subnets.length, 1);
    assert.deepEqual(ours(), []);
    assert.ok(!sh("nft", ["list", "tables"]).includes("fsb_0ad8"), "the tables are gone");
    assert.ok(!sh("ip", ["-br", "link"]).includes("fsbr0ad8"), "the bridge is gone");
  });
});

// Network modes through a real fsb-agent on the real test containerd: every "never" of an isolated
// sandbox tried from inside it, an allowed path, mode none, restart safety and cleanup.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { formatIpv4, parseCidr, prewarmKey } from "@fast-sandbox/api";
import {
  type AgentProcess,
  freePort,
  removeLogDir,
  startAgentProcess,
  tempLogDir,
} from "../../../../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_NAMESPACE } from "../../../../test/harness/constants.ts";
import { testConnection } from "../../../../test/harness/containerd.ts";
import { execToEnd } from "../../../../test/harness/exec-stream.ts";
import { eventually } from "../../../../test/harness/leftovers.ts";
import { OutsideNetwork, sh } from "../../../../test/harness/outside-network.ts";
import { assertRefusedFrom, connectFrom, nodeAddress } from "../../../../test/harness/sandbox-probe.ts";
import type { ContainerdConnection } from "../containerd/connection.ts";
import { subnetLayout } from "../network/subnet-layout.ts";

const PORT = 18081;
/** Clear of the default range, so agents of suites running alongside never share a subnet with this one. */
const RANGE = "10.214.0.0/16";

describe("sandbox network modes through a real agent", { concurrency: false }, () => {
  const tag = `a${process.pid % 100000}`;
  const outside = new OutsideNetwork(tag);
  const agentId = `net-${process.pid}`;
  let conn: ContainerdConnection;
  let logDir: string;
  let stateDir: string;
  let port: number;
  let agent: AgentProcess | undefined;
  let hostServer: Server;
  let hostPort: number;
  let seq = 0;
  const made: string[] = [];

  const start = async () => {
    agent = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      agentId,
      logDir,
      port,
      capacity: 10,
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
    return agent;
  };
  const create = async (network?: unknown) => {
    assert.ok(agent);
    const sandboxId = `${agentId}-${++seq}`;
    made.push(sandboxId);
    const res = await agent.request("POST", "/api/v1/agent/create", {
      sandbox: {
        sandboxId,
        name: `net${seq}`,
        image: TEST_IMAGE,
        command: ["sleep", "600"],
        exposedPorts: [PORT],
        ...(network ? { network } : {}),
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return { sandboxId, endpoint: String(res.body.endpoints[0]) };
  };
  /** busybox nc from inside the sandbox: what it read, or its complaint, and how long it took. */
  const connect = (sandboxId: string, host: string, port: number) => {
    assert.ok(agent);
    return connectFrom(agent, sandboxId, host, port);
  };
  const refused = (sandboxId: string, host: string, port: number, what: string) => {
    assert.ok(agent);
    return assertRefusedFrom(agent, sandboxId, host, port, what);
  };

  before(async () => {
    conn = await testConnection();
    logDir = await tempLogDir();
    stateDir = await mkdtemp(path.join(os.tmpdir(), "fsb-agent-net-"));
    port = await freePort();
    await outside.create(PORT);
    hostServer = createServer((s) => s.end("host")).listen(0, "0.0.0.0");
    await new Promise((r) => hostServer.once("listening", r));
    hostPort = (hostServer.address() as { port: number }).port;
  });

  after(async () => {
    const current = agent ?? (await start());
    for (const sandboxId of made) {
      await current.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 0 });
    }
    await current.stop();
    await outside.remove();
    hostServer.close();
    await rm(stateDir, { recursive: true, force: true });
    await removeLogDir(logDir);
    conn.close();
  });

  it("gives an isolated sandbox its own address and refuses, from inside it, all it may never reach", async () => {
    await start();
    const a = await create();
    const b = await create();
    const [aHost] = a.endpoint.split(":");
    const [bHost] = b.endpoint.split(":");
    assert.notEqual(aHost, "127.0.0.1");
    assert.ok(aHost?.startsWith("10.214."), a.endpoint);
    assert.ok(agent);
    // b serves on its port; the node reaches it at the endpoint.
    void execToEnd(agent, {
      sandboxId: b.sandboxId,
      command: ["sh", "-c", `echo sandbox-b | nc -l -p ${PORT}`],
    });
    await new Promise((r) => setTimeout(r, 300));

    assert.equal((await connect(a.sandboxId, outside.addresses.public, PORT)).out, "outside");
    const gateway = formatIpv4(
      subnetLayout(parseCidr(`${aHost?.split(".").slice(0, 3).join(".")}.0/24`, "x")).gateway,
    );
    await refused(a.sandboxId, gateway, hostPort, "the host through the gateway");
    await refused(a.sandboxId, nodeAddress(), hostPort, "the host's own address");
    await refused(a.sandboxId, gateway, agent.port, "the agent's API");
    await refused(a.sandboxId, bHost ?? "", PORT, "another sandbox");
    await refused(a.sandboxId, outside.addresses.metadata, PORT, "the metadata address");
    await refused(a.sandboxId, outside.addresses.private, PORT, "a private network");
    // Its own loopback is its own: the host's 127.0.0.1 services are not there.
    assert.notEqual((await connect(a.sandboxId, "127.0.0.1", hostPort)).out, "host");
    const fromNode = sh("sh", [
      "-c",
      `${process.execPath} -e "require('net').connect(${PORT}, '${bHost}').on('data', d => process.stdout.write(d))"`,
    ]);
    assert.equal(fromNode.trim(), "sandbox-b");
  });

  it("applies a sandbox's egress rules, and mode none has loopback only", async () => {
    const denied = await create({ mode: "isolated", egress: { default: "deny" } });
    const allowedPrivate = await create({ egress: { default: "deny", allow: ["10.99.0.0/24"] } });
    await refused(denied.sandboxId, outside.addresses.public, PORT, "deny-all");
    assert.equal((await connect(allowedPrivate.sandboxId, outside.addresses.private, PORT)).out, "outside");
    await refused(allowedPrivate.sandboxId, outside.addresses.public, PORT, "outside the allow list");

    const none = await create({ mode: "none" });
    assert.equal(none.endpoint.split(":")[0], "127.0.0.1");
    assert.ok(agent);
    const links = await execToEnd(agent, { sandboxId: none.sandboxId, command: ["ip", "-o", "link"] });
    assert.deepEqual(
      links.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(":")[1]?.trim()),
      ["lo"],
    );
    assert.notEqual((await connect(none.sandboxId, outside.addresses.public, PORT)).out, "outside");
  });

  it("refuses bad network input naming the field", async () => {
    assert.ok(agent);
    const bad = async (network: unknown, field: string) => {
      const res = await agent?.request("POST", "/api/v1/agent/create", {
        sandbox: { sandboxId: `${agentId}-bad`, name: "bad", image: TEST_IMAGE, network },
      });
      assert.equal(res?.status, 400, JSON.stringify(res?.body));
      assert.equal(res?.body.error.field, field, JSON.stringify(res?.body));
    };
    await bad({ mode: "bridge" }, "sandbox.network.mode");
    await bad({ egress: { allow: ["10.0.0.1/8"] } }, "sandbox.network.egress.allow[0]");
    await bad({ mode: "agent", egress: { default: "deny" } }, "sandbox.network.egress");
    await bad({ egress: { default: "maybe" } }, "sandbox.network.egress.default");
  });

  it("serves an isolated create from a prewarmed container that holds its namespace already", async () => {
    assert.ok(agent);
    const template = { image: TEST_IMAGE, command: ["sleep", "600"], args: [], env: {} };
    const key = prewarmKey(template);
    const readyOf = async () => {
      const status = await agent?.request("GET", "/api/v1/agent/status");
      return status?.body.prewarm.templates.find((t: { key: string }) => t.key === key)?.ready ?? 0;
    };
    assert.equal(
      (await agent.request("PUT", "/api/v1/agent/prewarm", { templates: [{ ...template, count: 1 }] }))
        .status,
      200,
    );
    await eventually(readyOf, (ready) => ready === 1);
    const sandboxId = `${agentId}-${++seq}`;
    made.push(sandboxId);
    const res = await agent.request("POST", "/api/v1/agent/create", {
      sandbox: {
        sandboxId,
        name: `net${seq}`,
        ...template,
        exposedPorts: [PORT],
        network: { egress: { default: "deny" } },
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.prewarmed, true);
    assert.ok(String(res.body.endpoints[0]).startsWith("10.214."), JSON.stringify(res.body));
    // The create's own egress rules, not the prewarmed container's (it had none).
    await refused(sandboxId, outside.addresses.public, PORT, "deny-all on a prewarmed container");
    assert.equal((await agent.request("PUT", "/api/v1/agent/prewarm", { templates: [] })).status, 200);
    await eventually(readyOf, (ready) => ready === 0);
  });

  it("keeps an isolated sandbox's network and rules through kill -9, and removes its namespace at delete", async () => {
    assert.ok(agent);
    const kept = await create({ egress: { default: "deny", allow: ["198.51.100.0/30"] } });
    await agent.kill9();
    await start();
    assert.equal((await connect(kept.sandboxId, outside.addresses.public, PORT)).out, "outside");
    await refused(kept.sandboxId, outside.addresses.private, PORT, "outside the allow list after a restart");
    const netns = `fsb-${kept.endpoint.split(":")[0]}`;
    assert.ok(sh("ip", ["netns", "list"]).includes(netns));
    await agent?.request("POST", "/api/v1/agent/delete", {
      sandboxId: kept.sandboxId,
      gracePeriodSeconds: 0,
    });
    assert.ok(!sh("ip", ["netns", "list"]).includes(`${netns} `));
  });
});

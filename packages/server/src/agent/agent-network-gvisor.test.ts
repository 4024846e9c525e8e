// Network modes of gVisor sandboxes through a real `fsb-agent --runtime gvisor` on the real test
// containerd: runsc's own network stack in the prepared namespace of an isolated sandbox (see
// scripts/runsc-wrapper.sh), every "never" tried from inside it, and loopback only in modes none and agent.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { formatIpv4, parseCidr, prewarmKey } from "@fast-sandbox/api";
import {
  type AgentProcess,
  type AgentResponse,
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

const PORT = 18082;
/** Clear of the default range and of agent-network.test.ts's, so the suites can run side by side. */
const RANGE = "10.215.0.0/16";
/** What every name of this range's networks holds: 10.215 in hex (subnet-layout.ts). */
const RANGE_HEX = "0ad7";
/** The outside's slot: agent-network.test.ts and sandbox-networks.test.ts use slot 0. */
const OUTSIDE_SLOT = 1;
/** A bridge port of the test's own, named in this range (so {@link sweep} finds it) but no sandbox's. */
const LOW_MAC_PORT = `fsv${RANGE_HEX}fffe`;

/** Namespaces, links and nft tables of this suite's range still on the node. */
function leftovers(): string[] {
  const netns = sh("ip", ["netns", "list"])
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name.startsWith("fsb-10.215."));
  const links = sh("ip", ["-br", "link"])
    .split("\n")
    .map((line) => (line.split(/\s+/)[0] ?? "").split("@")[0] ?? "")
    .filter((name) => name.startsWith(`fsbr${RANGE_HEX}`) || name.startsWith(`fsv${RANGE_HEX}`));
  const tables = sh("nft", ["list", "tables"])
    .split("\n")
    .filter((line) => line.includes(`fsb_${RANGE_HEX}`));
  return [...netns, ...links, ...tables];
}

/** Removes whatever {@link leftovers} finds: the last resort of `after` when the agent could not. */
function sweep(): void {
  for (const item of leftovers()) {
    try {
      if (item.startsWith("fsb-")) sh("ip", ["netns", "del", item]);
      else if (item.startsWith("table ")) sh("nft", ["delete", ...item.trim().split(/\s+/)]);
      else sh("ip", ["link", "del", item]);
    } catch {}
  }
}

describe("gVisor sandbox network modes through a real agent", { concurrency: false }, () => {
  const tag = `g${process.pid % 100000}`;
  const outside = new OutsideNetwork(tag, OUTSIDE_SLOT);
  const agentId = `gnet-${process.pid}`;
  let conn: ContainerdConnection;
  let logDir: string;
  let stateDir: string;
  let port: number;
  let agent: AgentProcess | undefined;
  let hostServer: Server | undefined;
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
        "--runtime",
        "gvisor",
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
  const create = async (network?: unknown, exposedPorts: number[] = [PORT]) => {
    assert.ok(agent);
    const sandboxId = `${agentId}-${++seq}`;
    made.push(sandboxId);
    const res = await agent.request("POST", "/api/v1/agent/create", {
      sandbox: {
        sandboxId,
        name: `gnet${seq}`,
        image: TEST_IMAGE,
        command: ["sleep", "600"],
        exposedPorts,
        ...(network ? { network } : {}),
      },
    });
    assert.equal(res.status, 200, `${JSON.stringify(res.body)}\n${agent.output()}`);
    return { sandboxId, endpoint: String(res.body.endpoints[0] ?? "") };
  };
  const run = async (sandboxId: string, command: string[]) => {
    assert.ok(agent);
    return execToEnd(agent, { sandboxId, command });
  };
  /** busybox nc from inside the sandbox (so through gVisor's network stack): what it read, or its complaint. */
  const connect = (sandboxId: string, host: string, port: number) => {
    assert.ok(agent);
    return connectFrom(agent, sandboxId, host, port);
  };
  const refused = (sandboxId: string, host: string, port: number, what: string) => {
    assert.ok(agent);
    return assertRefusedFrom(agent, sandboxId, host, port, what);
  };
  /** The interfaces the sandbox's kernel (gVisor's) shows, by name. */
  const links = async (sandboxId: string) =>
    (await run(sandboxId, ["ip", "-o", "link"])).stdout
      .trim()
      .split("\n")
      .map((l) => l.split(":")[1]?.trim());

  before(async () => {
    conn = await testConnection();
    logDir = await tempLogDir();
    stateDir = await mkdtemp(path.join(os.tmpdir(), "fsb-agent-gnet-"));
    port = await freePort();
    await outside.create(PORT);
    hostServer = createServer((s) => s.end("host")).listen(0, "0.0.0.0");
    await new Promise((r) => hostServer?.once("listening", r));
    hostPort = (hostServer.address() as { port: number }).port;
    await start();
  });

  after(async () => {
    // Each step runs even when one before it fails, and the sweep removes what the agent left. An
    // agent that died is started again (it adopts the sandboxes) to delete them.
    const steps: Array<() => unknown> = [
      async () => {
        if (made.length === 0) return;
        const alive = await agent?.request("GET", "/healthz").catch(() => undefined);
        const current = alive?.status === 200 && agent ? agent : await start();
        for (const sandboxId of made) {
          await current.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 0 });
        }
      },
      () => agent?.stop(),
      () => outside.remove(),
      () => hostServer?.close(),
      () => sweep(),
      () => rm(stateDir, { recursive: true, force: true }),
      () => removeLogDir(logDir),
      () => conn?.close(),
    ];
    for (const step of steps)
      await Promise.resolve()
        .then(step)
        .catch(() => {});
  });

  it("gives an isolated gVisor sandbox its own address and refuses, from inside it, all it may never reach", async () => {
    const a = await create();
    const b = await create();
    const [aHost] = a.endpoint.split(":");
    const [bHost] = b.endpoint.split(":");
    assert.ok(aHost?.startsWith("10.215."), a.endpoint);
    // gVisor's kernel holds the address; runsc took it off the namespace's veth.
    const inside = await run(a.sandboxId, ["ip", "-o", "-4", "addr", "show", "eth0"]);
    assert.match(inside.stdout, new RegExp(`inet ${aHost?.replaceAll(".", "\\.")}/32`), inside.stdout);
    assert.doesNotMatch(sh("ip", ["-n", `fsb-${aHost}`, "-o", "-4", "addr", "show", "eth0"]), /inet /);
    assert.ok(agent);
    // b serves on its exposed port; the node reaches it at the endpoint.
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
    // Its loopback is gVisor's own: the host's 127.0.0.1 services are not there.
    assert.notEqual((await connect(a.sandboxId, "127.0.0.1", hostPort)).out, "host");
    const fromNode = sh("sh", [
      "-c",
      `${process.execPath} -e "require('net').connect(${PORT}, '${bHost}').on('data', d => process.stdout.write(d))"`,
    ]);
    assert.equal(fromNode.trim(), "sandbox-b");
  });

  it("keeps reaching the outside when a port with a lower MAC joins the bridge (the gateway's MAC stays)", async () => {
    const a = await create();
    const layout = subnetLayout(parseCidr(`${a.endpoint.split(".").slice(0, 3).join(".")}.0/24`, "x"));
    assert.equal((await connect(a.sandboxId, outside.addresses.public, PORT)).out, "outside");
    // gVisor's network stack caches the gateway's MAC; a kernel-chosen bridge MAC would now move.
    sh("ip", [
      "link",
      "add",
      LOW_MAC_PORT,
      "address",
      "00:00:00:00:00:01",
      "type",
      "veth",
      "peer",
      "name",
      `${LOW_MAC_PORT}p`,
    ]);
    try {
      sh("ip", ["link", "set", LOW_MAC_PORT, "master", layout.bridge, "up"]);
      assert.equal(readFileSync(`/sys/class/net/${layout.bridge}/address`, "utf8").trim(), layout.bridgeMac);
      assert.equal((await connect(a.sandboxId, outside.addresses.public, PORT)).out, "outside");
    } finally {
      sh("ip", ["link", "del", LOW_MAC_PORT]);
    }
  });

  it("applies an isolated gVisor sandbox's egress rules", async () => {
    const denied = await create({ egress: { default: "deny" } });
    await refused(denied.sandboxId, outside.addresses.public, PORT, "deny-all");
  });

  it("gives modes none and agent loopback only under gVisor, and refuses their exposed ports", async () => {
    for (const mode of ["none", "agent"]) {
      const sandbox = await create({ mode }, []);
      assert.equal(sandbox.endpoint, "", `${mode}: no endpoint without exposed ports`);
      assert.deepEqual(await links(sandbox.sandboxId), ["lo"], mode);
      const r = await connect(sandbox.sandboxId, outside.addresses.public, PORT);
      assert.notEqual(r.out, "outside", `${mode}: ${JSON.stringify(r)}`);
      assert.notEqual((await connect(sandbox.sandboxId, "127.0.0.1", hostPort)).out, "host", mode);
      assert.ok(agent);
      const ports = await agent.request("POST", "/api/v1/agent/create", {
        sandbox: {
          sandboxId: `${agentId}-ports-${mode}`,
          name: "gports",
          image: TEST_IMAGE,
          exposedPorts: [PORT],
          network: { mode },
        },
      });
      assert.equal(ports.status, 412, JSON.stringify(ports.body));
      assert.equal(ports.body.error.field, "sandbox.exposedPorts");
    }
  });

  it("starts runsc's network stack when a create takes a prewarmed container, and keeps it through kill -9", async () => {
    assert.ok(agent);
    const template = { image: TEST_IMAGE, command: ["sleep", "600"], args: [], env: {} };
    const key = prewarmKey(template);
    const readyOf = async () => {
      const status = await agent?.request("GET", "/api/v1/agent/status");
      return status?.body.prewarm.templates.find((t: { key: string }) => t.key === key)?.ready ?? 0;
    };
    const prewarm = async (count: number) => {
      const templates = count ? [{ ...template, count }] : [];
      assert.equal((await agent?.request("PUT", "/api/v1/agent/prewarm", { templates }))?.status, 200);
      await eventually(readyOf, (ready) => ready === count);
    };
    await prewarm(1);
    const sandboxId = `${agentId}-${++seq}`;
    made.push(sandboxId);
    const res = await agent.request("POST", "/api/v1/agent/create", {
      sandbox: {
        sandboxId,
        name: `gnet${seq}`,
        ...template,
        network: { egress: { default: "deny", allow: ["198.51.100.0/24"] } },
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.prewarmed, true);
    await prewarm(0);
    assert.equal((await connect(sandboxId, outside.addresses.public, PORT)).out, "outside");
    await refused(sandboxId, outside.addresses.private, PORT, "outside the allow list");

    await agent.kill9();
    await start();
    assert.equal((await connect(sandboxId, outside.addresses.public, PORT)).out, "outside");
    await refused(sandboxId, outside.addresses.private, PORT, "outside the allow list after a restart");
  });

  it("leaves no namespace, link or table of its range once the agent is gone", async () => {
    // Runs last: the agent stops here, after its sandboxes are deleted.
    const current = agent;
    assert.ok(current);
    for (const sandboxId of made.splice(0)) {
      const res: AgentResponse = await current.request("POST", "/api/v1/agent/delete", {
        sandboxId,
        gracePeriodSeconds: 0,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    agent = undefined;
    await current.stop();
    assert.deepEqual(leftovers(), []);
  });
});

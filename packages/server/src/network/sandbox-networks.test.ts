import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { formatIpv4, parseCidr } from "@fast-sandbox/api";
import pino from "pino";
import {
  listenIn,
  OutsideNetwork,
  probe,
  probeFromHost,
  sh,
} from "../../../../test/harness/outside-network.ts";
import { hostNetTools } from "./net-tools.ts";
import type { EgressRules } from "./nft-ruleset.ts";
import { type PreparedNetns, SandboxNetworks } from "./sandbox-networks.ts";

const PORT = 18080;
const allowAll: EgressRules = { defaultAction: "allow", allow: [], deny: [] };
const denyAll: EgressRules = { defaultAction: "deny", allow: [], deny: [] };
/** A range no agent uses by default, so agents of tests running alongside never share it. */
const RANGE = parseCidr("10.213.0.0/16", "range");
/** A refusal is a reset from the firewall, not a wait: far below the probe's own 1.5 s timeout. */
const FAST_MS = 500;

function refusedFast(result: { outcome: string; ms: number }, what: string): void {
  assert.equal(result.outcome, "ECONNREFUSED", `${what}: ${JSON.stringify(result)}`);
  assert.ok(result.ms < FAST_MS, `${what} took ${result.ms} ms`);
}

describe("isolated sandbox networks on the real kernel", { concurrency: false }, () => {
  const tag = String(process.pid % 100000);
  // Slot 2: its own outside addresses, apart from the agent suites' that may run alongside.
  const outside = new OutsideNetwork(tag, 2);
  const logger = pino({ level: "silent" });
  let stateDir: string;
  let networks: SandboxNetworks | undefined;
  let hostServer: Server;
  let hostPort: number;
  const servers: ChildProcess[] = [];
  const open = () =>
    SandboxNetworks.open(
      {
        agentId: `nettest-${tag}`,
        stateDir,
        range: RANGE,
        bits: 24,
        restricted: [],
        poolSize: 2,
        tools: hostNetTools,
        logger,
      },
      new Map(),
    );

  /** Every namespace a test takes, released in `after` even when the test failed before its own release. */
  const taken: PreparedNetns[] = [];
  const acquire = async () => {
    assert.ok(networks);
    const netns = await networks.acquire();
    taken.push(netns);
    return netns;
  };

  before(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), "fsb-net-"));
    await outside.create(PORT);
    networks = await open();
    hostServer = createServer((s) => s.end("host")).listen(0, "0.0.0.0");
    await new Promise((r) => hostServer.once("listening", r));
    hostPort = (hostServer.address() as { port: number }).port;
  });

  after(async () => {
    for (const s of servers) s.kill("SIGKILL");
    for (const netns of taken) await networks?.release(netns.address);
    await networks?.close();
    await outside.remove();
    hostServer.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("allows what a sandbox's rules allow and refuses, at once, everything it may never reach", async () => {
    assert.ok(networks);
    const a = await acquire();
    const b = await acquire();
    await networks.allow(a, { pool: "p", egress: allowAll });
    await networks.allow(b, { pool: "p", egress: allowAll });
    servers.push(await listenIn(b.name, PORT, "sandbox b"));
    const gateway = formatIpv4(networks.layout.gateway);
    const hostAddress =
      sh("ip", ["-j", "route", "get", outside.addresses.public]).match(/"prefsrc":"([\d.]+)"/)?.[1] ??
      "198.51.100.1";

    assert.equal((await probe(a.name, outside.addresses.public, PORT)).outcome, "read:outside");
    assert.equal((await probe(b.name, outside.addresses.public, PORT)).outcome, "read:outside");
    refusedFast(await probe(a.name, gateway, hostPort), "the host through the gateway");
    refusedFast(await probe(a.name, hostAddress, hostPort), "the host's own address");
    refusedFast(await probe(a.name, formatIpv4(b.address), PORT), "another sandbox");
    refusedFast(await probe(a.name, outside.addresses.metadata, PORT), "the metadata address");
    refusedFast(await probe(a.name, outside.addresses.private, PORT), "a private network");
    // The host reaches a sandbox's ports; a namespace beyond it does not.
    assert.equal((await probeFromHost(formatIpv4(b.address), PORT)).outcome, "read:sandbox b");
    refusedFast(await probe(outside.name, formatIpv4(b.address), PORT), "a sandbox from beyond the host");
  });

  it("applies deny-all, allow lists and deny lists, and counts each refusal per pool", async () => {
    assert.ok(networks);
    const denied = await acquire();
    const listed = await acquire();
    const blocked = await acquire();
    const unassigned = await acquire();
    await networks.allow(denied, { pool: "strict", egress: denyAll });
    const privateNet = parseCidr(`${outside.addresses.private}/32`, "allow");
    await networks.allow(listed, {
      pool: "p",
      egress: { defaultAction: "deny", allow: [privateNet], deny: [] },
    });
    const publicHost = parseCidr(`${outside.addresses.public}/32`, "deny");
    await networks.allow(blocked, {
      pool: "p",
      egress: { defaultAction: "allow", allow: [], deny: [publicHost] },
    });

    refusedFast(await probe(denied.name, outside.addresses.public, PORT), "deny-all");
    assert.equal((await probe(listed.name, outside.addresses.private, PORT)).outcome, "read:outside");
    refusedFast(await probe(listed.name, outside.addresses.public, PORT), "outside the allow list");
    refusedFast(await probe(blocked.name, outside.addresses.public, PORT), "a denied address");
    // Not even a refusal: its frames are dropped at the bridge until the sandbox's address is bound to its port.
    assert.equal((await probe(unassigned.name, outside.addresses.public, PORT)).outcome, "timeout");

    const counts = await networks.deniedCounts();
    const count = (pool: string, reason: string) =>
      counts.find((c) => c.pool === pool && c.reason === reason)?.packets ?? 0;
    assert.ok(count("strict", "policy") >= 1, JSON.stringify(counts));
    assert.ok(count("p", "policy") >= 2, JSON.stringify(counts));
    assert.ok(count("p", "host") >= 2, JSON.stringify(counts));
    assert.ok(count("p", "never") >= 2, JSON.stringify(counts));
    for (const netns of [denied, listed, blocked, unassigned]) await networks.release(netns.address);
  });

  it("drops frames whose source is another sandbox's address", async () => {
    assert.ok(networks);
    const spoofer = await acquire();
    const victim = await acquire();
    await networks.allow(spoofer, { pool: "p", egress: denyAll });
    await networks.allow(victim, { pool: "p", egress: allowAll });
    // Root in the namespace (more than a sandbox gets) takes the victim's address as its own.
    sh("ip", ["-n", spoofer.name, "addr", "add", `${formatIpv4(victim.address)}/32`, "dev", "eth0"]);
    const spoofed = await probe(spoofer.name, outside.addresses.public, PORT, formatIpv4(victim.address));
    assert.notEqual(spoofed.outcome, "read:outside", JSON.stringify(spoofed));
    await networks.release(spoofer.address);
    await networks.release(victim.address);
  });

  it("keeps an in-use namespace, its bridge and rules at close, and leaves nothing once it goes", async () => {
    assert.ok(networks);
    for (const netns of taken.splice(0)) await networks.release(netns.address);
    const kept: PreparedNetns = await acquire();
    await networks.allow(kept, { pool: "p", egress: allowAll });
    const { bridge, table, subnet } = networks.layout;
    const ours = () =>
      sh("ip", ["netns", "list"])
        .split("\n")
        .filter((l) => l.startsWith(`fsb-${formatIpv4(subnet.base).slice(0, -2)}`));
    // An agent stopping with a sandbox still running (to be adopted by its next run).
    await networks.close();
    assert.deepEqual(
      ours().map((l) => l.split(" ")[0]),
      [kept.name],
    );
    assert.equal((await probe(kept.name, outside.addresses.public, PORT)).outcome, "read:outside");

    await networks.release(kept.address);
    await networks.close();
    networks = undefined;
    assert.deepEqual(ours(), []);
    assert.throws(() => sh("ip", ["link", "show", "dev", bridge]));
    assert.ok(!sh("nft", ["list", "tables"]).includes(table));
  });
});

// Placement end to end: a full pool, port conflicts per agent address, image affinity and least-loaded spreading.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { Labels } from "@fast-sandbox/api";
import { ConsistencyMode } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { BadRequestSchema } from "../../packages/api/gen/google/rpc/error_details_pb.ts";
import { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { ContainerRuntime } from "../../packages/server/src/containerd/container-runtime.ts";
import type { AgentStatusView } from "../../packages/server/src/controller/agent-api.ts";
import { type AgentProcess, removeLogDir, startAgentProcess } from "../harness/agent-process.ts";
import { TEST_IMAGE } from "../harness/constants.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually, leftoversOf, nothingLeft, withoutAnchors } from "../harness/leftovers.ts";
import { rejectsWith } from "../harness/rpc-assert.ts";

/** A containerd namespace of the test containerd that holds no image. */
const EMPTY_NAMESPACE = "fsb-test-empty";
const SLEEP = { image: "busybox", command: ["sleep", "600"] };

/** Why a pool of `--local-agents N` (poolMin = poolMax = N) cannot grow, as the answer says after the reason. */
const AT_MAX = (n: number) => `; the pool has launched its maximum of ${n} agents \\(poolMax\\)`;

/** The message the registry gives when every agent of the default pool is full (it cannot grow). */
function poolFull(name: string, agents: number, used: number, total: number): RegExp {
  return new RegExp(
    `^cannot place sandbox "default/${name}" in pool "default-pool" of namespace "default": ` +
      `all ${agents} agents are full \\(${used} of ${total} slots used\\)${AT_MAX(agents)}$`,
  );
}

async function metrics(ctl: ControllerProcess): Promise<string> {
  return (await fetch(`http://127.0.0.1:${ctl.ports.metrics}/metrics`)).text();
}

/** Waits until the registry counts `n` healthy agents (an external agent registered and answered a probe). */
async function waitHealthyAgents(ctl: ControllerProcess, n: number): Promise<void> {
  const line = `fsb_registry_agents{state="healthy"} ${n}`;
  const text = await eventually(
    () => metrics(ctl),
    (m) => m.includes(line),
    15_000,
  );
  assert.ok(
    text.includes(line),
    `expected ${line}:\n${text
      .split("\n")
      .filter((l) => l.startsWith("fsb_registry"))
      .join("\n")}`,
  );
}

async function waitGone(ctl: ControllerProcess, name: string): Promise<void> {
  const state = await eventually(
    () =>
      ctl.client.getSandbox({ name }).then(
        () => "present",
        (err: unknown) => (err instanceof ConnectError && err.code === Code.NotFound ? "gone" : String(err)),
      ),
    (v) => v === "gone",
  );
  assert.equal(state, "gone", `sandbox ${name} is still there`);
}

async function deleteAndWait(ctl: ControllerProcess, name: string): Promise<void> {
  await ctl.client.deleteSandbox({ name, gracePeriodSeconds: 0 });
  await waitGone(ctl, name);
}

interface ExternalAgent {
  agent: AgentProcess;
  stop(): Promise<void>;
}

/** An fsb-agent started on its own that registers itself with `ctl` (as `<prefix>-<suffix>`). */
async function startExternalAgent(
  ctl: ControllerProcess,
  socketPath: string,
  o: { suffix: string; namespace: string; address: string; capacity: number },
): Promise<ExternalAgent> {
  const tokenDir = await mkdtemp(path.join(os.tmpdir(), "fsb-ctl-token-"));
  const tokenFile = path.join(tokenDir, "token");
  await writeFile(tokenFile, ctl.token, { mode: 0o600 });
  const agent = await startAgentProcess({
    socketPath,
    namespace: o.namespace,
    agentId: `${ctl.agentPrefix}-${o.suffix}`,
    capacity: o.capacity,
    extraArgs: [
      "--controller-url",
      ctl.url,
      "--controller-token-file",
      tokenFile,
      "--advertise-address",
      o.address,
      // The controller calls the agent at its advertised address; the harness checks health on 127.0.0.1.
      ...(o.address === "127.0.0.1" ? [] : ["--listen-address", "0.0.0.0"]),
      "--pool",
      "default-pool",
      "--namespace",
      "default",
    ],
  });
  return {
    agent,
    async stop() {
      await agent.stop();
      await removeLogDir(agent.logDir);
      await rm(tokenDir, { recursive: true, force: true });
    },
  };
}

describe("a full pool", () => {
  let ctl: ControllerProcess;
  const conn = testConnection();

  before(async () => {
    ctl = await startControllerProcess({ socketPath: (await conn).socketPath, localAgents: 2, capacity: 1 });
  });
  after(async () => {
    await ctl.cleanup();
    (await conn).close();
  });

  it("answers RESOURCE_EXHAUSTED saying why in fast mode, and takes a create again once a slot frees", async () => {
    const a = (await ctl.client.createSandbox({ name: "full-a", ...SLEEP })).sandbox!;
    const b = (await ctl.client.createSandbox({ name: "full-b", ...SLEEP })).sandbox!;
    assert.deepEqual([a.agent, b.agent].sort(), [`${ctl.agentPrefix}-0`, `${ctl.agentPrefix}-1`]);

    await rejectsWith(
      ctl.client.createSandbox({ name: "full-c", ...SLEEP }),
      Code.ResourceExhausted,
      poolFull("full-c", 2, 2, 2),
    );
    // A refused fast create leaves nothing: no object and no pending create.
    await rejectsWith(ctl.client.getSandbox({ name: "full-c" }), Code.NotFound);
    assert.deepEqual(
      (await ctl.client.listSandboxes({})).sandboxes.map((s) => s.name),
      ["full-a", "full-b"],
    );
    assert.match(
      await metrics(ctl),
      /fsb_create_duration_seconds_count\{mode="fast",result="no_capacity"\} 1\n/,
    );

    await deleteAndWait(ctl, "full-a");
    const c = (await ctl.client.createSandbox({ name: "full-c", ...SLEEP })).sandbox!;
    assert.equal(c.phase, "Running");
    assert.equal(c.agent, a.agent);
  });

  it("answers RESOURCE_EXHAUSTED in strong mode too, and the failed create leaves no object", async () => {
    const strong = { ...SLEEP, consistencyMode: ConsistencyMode.STRONG };
    await rejectsWith(
      ctl.client.createSandbox({ name: "full-d", ...strong }),
      Code.ResourceExhausted,
      poolFull("full-d", 2, 2, 2),
    );
    await waitGone(ctl, "full-d");
    assert.deepEqual(
      (await ctl.client.listSandboxes({})).sandboxes.map((s) => s.name),
      ["full-b", "full-c"],
    );
    assert.match(
      await metrics(ctl),
      /fsb_create_duration_seconds_count\{mode="strong",result="no_capacity"\} 1\n/,
    );

    await deleteAndWait(ctl, "full-b");
    const d = (await ctl.client.createSandbox({ name: "full-d", ...strong })).sandbox!;
    assert.equal(d.phase, "Running");
    assert.notEqual(d.uid, "");
    assert.match(await metrics(ctl), /fsb_registry_slots\{state="used"\} 2\n/);
  });
});

describe("exposed ports of isolated sandboxes (the default)", () => {
  const PORT = 18_741;
  let ctl: ControllerProcess;
  const conn = testConnection();

  before(async () => {
    ctl = await startControllerProcess({ socketPath: (await conn).socketPath, localAgents: 1, capacity: 3 });
  });
  after(async () => {
    await ctl.cleanup();
    (await conn).close();
  });

  it("each sandbox serves the port at its own address, however many share an agent", async () => {
    const serve = (name: string) =>
      ctl.client.createSandbox({
        name,
        image: "busybox",
        command: ["sh", "-c", `while true; do echo ${name} | nc -l -p ${PORT}; done`],
        exposedPorts: [PORT],
      });
    const a = (await serve("iso-a")).sandbox!;
    const b = (await serve("iso-b")).sandbox!;
    assert.equal(a.agent, b.agent, "one agent holds both");
    const [aHost] = a.endpoints[0]?.split(":") ?? [];
    const [bHost] = b.endpoints[0]?.split(":") ?? [];
    assert.match(a.endpoints[0] ?? "", new RegExp(`^10\\.212\\.\\d+\\.\\d+:${PORT}$`));
    assert.notEqual(aHost, bHost);
    const read = (host: string) =>
      new Promise<string>((resolve) => {
        let data = "";
        const socket = net.connect(PORT, host);
        socket.on("data", (d) => (data += d));
        socket.on("close", () => resolve(data.trim()));
        socket.on("error", () => resolve(""));
      });
    assert.equal(
      await eventually(
        () => read(aHost ?? ""),
        (r) => r !== "",
      ),
      "iso-a",
    );
    assert.equal(
      await eventually(
        () => read(bHost ?? ""),
        (r) => r !== "",
      ),
      "iso-b",
    );
  });
});

describe("exposed ports of sandboxes in their agent's network (mode agent)", () => {
  const PORT = 18_731;
  let ctl: ControllerProcess;
  let external: ExternalAgent | undefined;
  const conn = testConnection();

  before(async () => {
    ctl = await startControllerProcess({
      socketPath: (await conn).socketPath,
      localAgents: 2,
      capacity: 2,
      poolNetwork: "agent",
    });
  });
  after(async () => {
    // Sandboxes on the external agent are deleted through the controller while that agent still runs.
    await ctl.cleanup();
    await external?.stop();
    (await conn).close();
  });

  it("are unique per agent address: two local agents on 127.0.0.1 share one port space", async () => {
    const first = (await ctl.client.createSandbox({ name: "port-a", ...SLEEP, exposedPorts: [PORT] }))
      .sandbox!;
    assert.deepEqual(first.endpoints, [`127.0.0.1:${PORT}`]);
    await rejectsWith(
      ctl.client.createSandbox({ name: "port-b", ...SLEEP, exposedPorts: [PORT] }),
      Code.ResourceExhausted,
      new RegExp(
        `^cannot place sandbox "default/port-b" in pool "default-pool" of namespace "default": ` +
          `port ${PORT} is in use on all 2 eligible agents${AT_MAX(2)}$`,
      ),
    );
    // Another port still fits: it was the port, not the slots.
    const other = (await ctl.client.createSandbox({ name: "port-c", ...SLEEP, exposedPorts: [PORT + 1] }))
      .sandbox!;
    assert.deepEqual(other.endpoints, [`127.0.0.1:${PORT + 1}`]);
  });

  it("a port an undeclared process listens on: FAILED_PRECONDITION naming it, fast and strong, and nothing left", async () => {
    // Sandboxes share the node's network: one that declared nothing can still listen anywhere.
    const taken = PORT + 5;
    await ctl.client.createSandbox({
      name: "squatter",
      image: "busybox",
      command: ["httpd", "-f", "-p", String(taken)],
    });
    const listening = await eventually(
      () =>
        new Promise<boolean>((resolve) => {
          const socket = net.connect(taken, "127.0.0.1", () => resolve(true));
          socket.on("error", () => resolve(false));
          socket.on("connect", () => socket.destroy());
        }),
      Boolean,
    );
    assert.ok(listening, `nothing listens on ${taken}`);
    for (const [name, consistencyMode] of [
      ["claim-fast", ConsistencyMode.FAST],
      ["claim-strong", ConsistencyMode.STRONG],
    ] as const) {
      await assert.rejects(
        ctl.client.createSandbox({ name, ...SLEEP, exposedPorts: [PORT + 6, taken], consistencyMode }),
        (err: unknown) => {
          assert.ok(err instanceof ConnectError, String(err));
          assert.equal(err.code, Code.FailedPrecondition, err.message);
          const fields = err
            .findDetails(BadRequestSchema)
            .flatMap((d) => d.fieldViolations.map((v) => v.field));
          assert.deepEqual(fields, ["exposedPorts[1]"]);
          assert.match(
            err.rawMessage,
            new RegExp(
              `^exposedPorts\\[1\\]: port ${taken} is already in use on node \\S+ by a process that did not declare it; ` +
                "sandboxes share the node's network until network isolation lands",
            ),
          );
          return true;
        },
      );
      await rejectsWith(ctl.client.getSandbox({ name }), Code.NotFound);
      const { containers } = await (await conn).containers.list({});
      assert.deepEqual(
        containers.filter((c) => c.labels[Labels.Name] === name).map((c) => c.id),
        [],
      );
    }
    // The declared port that was free is free again too: nothing holds it.
    const fits = (await ctl.client.createSandbox({ name: "claim-other", ...SLEEP, exposedPorts: [PORT + 6] }))
      .sandbox!;
    assert.equal(fits.phase, "Running");
    await deleteAndWait(ctl, "claim-other");
    await deleteAndWait(ctl, "squatter");
  });

  it("land on an agent with another address once one registers", async () => {
    external = await startExternalAgent(ctl, (await conn).socketPath, {
      suffix: "ext",
      namespace: "fsb-test",
      address: "127.0.0.2",
      capacity: 2,
    });
    await waitHealthyAgents(ctl, 3);

    const placed = (await ctl.client.createSandbox({ name: "port-b", ...SLEEP, exposedPorts: [PORT] }))
      .sandbox!;
    assert.equal(placed.phase, "Running");
    assert.equal(placed.agent, `${ctl.agentPrefix}-ext`);
    assert.deepEqual(placed.endpoints, [`127.0.0.2:${PORT}`]);
    const onAgent = await external.agent.request<AgentStatusView>("GET", "/api/v1/agent/status");
    assert.deepEqual(
      onAgent.body.sandboxes.map((s) => [s.sandboxId, s.phase, s.endpoints]),
      [[placed.sandboxId, "Running", [`127.0.0.2:${PORT}`]]],
    );

    // Now both addresses hold the port.
    await rejectsWith(
      ctl.client.createSandbox({ name: "port-d", ...SLEEP, exposedPorts: [PORT] }),
      Code.ResourceExhausted,
      new RegExp(`: port ${PORT} is in use on all 3 eligible agents${AT_MAX(2)}$`),
    );
    // Deleting frees the port on that address only.
    await deleteAndWait(ctl, "port-b");
    assert.deepEqual(await leftoversOf(await conn, placed.sandboxId), nothingLeft);
    const again = (await ctl.client.createSandbox({ name: "port-d", ...SLEEP, exposedPorts: [PORT] }))
      .sandbox!;
    assert.equal(again.agent, `${ctl.agentPrefix}-ext`);
    await deleteAndWait(ctl, "port-d");
  });
});

describe("image affinity", () => {
  let ctl: ControllerProcess;
  let empty: ExternalAgent | undefined;
  const conn = testConnection();
  const emptyConn = (async () =>
    new ContainerdConnection({ socketPath: (await conn).socketPath, namespace: EMPTY_NAMESPACE }))();

  before(async () => {
    const socketPath = (await conn).socketPath;
    ctl = await startControllerProcess({ socketPath, localAgents: 2, capacity: 2 });
    empty = await startExternalAgent(ctl, socketPath, {
      suffix: "empty",
      namespace: EMPTY_NAMESPACE,
      address: "127.0.0.1",
      capacity: 4,
    });
    await waitHealthyAgents(ctl, 3);
  });
  after(async () => {
    await ctl.cleanup();
    await empty?.stop();
    (await emptyConn).close();
    (await conn).close();
  });

  it("places an image only on agents that have it, however loaded they are", async () => {
    const status = await empty!.agent.request<AgentStatusView>("GET", "/api/v1/agent/status");
    assert.deepEqual(status.body.images, []);

    const local = [`${ctl.agentPrefix}-0`, `${ctl.agentPrefix}-1`];
    // Every spelling of the image normalises to the one the local agents have cached.
    const spellings = ["busybox", TEST_IMAGE, "library/busybox", "docker.io/busybox:latest"];
    const placed: string[] = [];
    for (const [i, image] of spellings.entries()) {
      const info = (await ctl.client.createSandbox({ name: `aff-${i}`, image, command: ["sleep", "600"] }))
        .sandbox!;
      assert.equal(info.phase, "Running");
      placed.push(info.agent);
    }
    // The empty agent had 0 of 4 slots used throughout, yet got nothing; the cached ones filled up evenly.
    assert.deepEqual(placed, [local[0], local[1], local[0], local[1]]);
    assert.match(await metrics(ctl), /fsb_registry_slots\{state="used"\} 4\n/);
  });

  it("does not fall back to an agent without the image when those with it are full, and leaves nothing", async () => {
    // Agents do not pull: an idle agent without the image is no place for it.
    await rejectsWith(
      ctl.client.createSandbox({ name: "aff-4", ...SLEEP }),
      Code.ResourceExhausted,
      /^cannot place sandbox "default\/aff-4" in pool "default-pool" of namespace "default": all 2 agents are full/,
    );
    await rejectsWith(ctl.client.getSandbox({ name: "aff-4" }), Code.NotFound);
    // The empty agent's shim anchor is its only container.
    assert.deepEqual(withoutAnchors(await new ContainerRuntime(await emptyConn).list({})), []);
    assert.match(await metrics(ctl), /fsb_registry_slots\{state="used"\} 4\n/);

    // With room again on a cached agent, the image goes there.
    await deleteAndWait(ctl, "aff-1");
    const info = (await ctl.client.createSandbox({ name: "aff-4", ...SLEEP })).sandbox!;
    assert.equal(info.agent, `${ctl.agentPrefix}-1`);
  });
});

describe("least-loaded spreading", () => {
  let ctl: ControllerProcess;
  const conn = testConnection();

  before(async () => {
    ctl = await startControllerProcess({ socketPath: (await conn).socketPath, localAgents: 2, capacity: 3 });
  });
  after(async () => {
    await ctl.cleanup();
    (await conn).close();
  });

  it("alternates between two empty agents: neither gets a second before the other has one", async () => {
    const [a0, a1] = [`${ctl.agentPrefix}-0`, `${ctl.agentPrefix}-1`];
    const placed: string[] = [];
    for (let i = 0; i < 6; i++) {
      placed.push((await ctl.client.createSandbox({ name: `spread-${i}`, ...SLEEP })).sandbox!.agent);
    }
    // Equal load ties break on the agent id.
    assert.deepEqual(placed, [a0, a1, a0, a1, a0, a1]);

    // Agent 0 down to one sandbox, agent 1 to two: agent 0 is the least loaded, then ties break on the id.
    for (const name of ["spread-0", "spread-2", "spread-1"]) await deleteAndWait(ctl, name);
    const next: string[] = [];
    for (const name of ["spread-6", "spread-7", "spread-8"]) {
      next.push((await ctl.client.createSandbox({ name, ...SLEEP })).sandbox!.agent);
    }
    assert.deepEqual(next, [a0, a0, a1]);
  });
});

// AgentMonitor's loss rule with an injected clock, a fake liveness probe and a fake status client:
// slow status answers and the controller's own stalls never lose an agent; real silence does.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { pino } from "pino";
import { ManualClock } from "../core/manual-clock.ts";
import type { AgentStatusView } from "./agent-api.ts";
import { AgentClient } from "./agent-client.ts";
import { AgentMonitor } from "./agent-monitor.ts";
import type { ProbeVerdict } from "./liveness/agent-liveness.ts";
import { AgentRegistry } from "./registry/agent-registry.ts";

const LOSS_MS = 15_000;
const AGENT = "agent-1";

function statusView(): AgentStatusView {
  return {
    agentId: AGENT,
    nodeName: "n",
    pool: "default-pool",
    runtime: "container",
    address: "10.0.0.1",
    capacity: 2,
    allocated: 0,
    images: [],
    sandboxes: [],
  };
}

/** A status client whose answers the test releases (or never does). */
class FakeStatusClient extends AgentClient {
  next: () => Promise<AgentStatusView> = async () => statusView();
  override status(): Promise<AgentStatusView> {
    return this.next();
  }
}

describe("AgentMonitor loss rule", () => {
  let clock: ManualClock;
  let registry: AgentRegistry;
  let monitor: AgentMonitor;
  let client: FakeStatusClient;
  let verdict: ProbeVerdict;
  let changes: Array<string>;

  beforeEach(async () => {
    clock = new ManualClock();
    registry = new AgentRegistry({ now: () => clock.now() });
    verdict = "answered";
    changes = [];
    monitor = new AgentMonitor({
      registry,
      logger: pino({ level: "silent" }),
      defaultAgentToken: undefined,
      probeIntervalMs: 2000,
      lossTimeoutMs: LOSS_MS,
      onAgentChanged: (id, status) => changes.push(status ? `${id}:status` : `${id}:lost`),
      clock,
      probeLiveness: async () => ({ verdict, detail: verdict }),
      newClient: (url, token) => {
        client = new FakeStatusClient(url, token);
        return client;
      },
    });
    monitor.register({
      agentId: AGENT,
      url: "http://10.0.0.1:5758",
      address: "10.0.0.1",
      nodeName: "n",
      pool: "default-pool",
      namespace: "default",
      capacity: 2,
      runtime: "container",
    });
    await monitor.probe(AGENT);
    assert.equal(registry.agent(AGENT)?.healthy, true);
    changes = [];
  });

  /** One probe interval: time passes, then a liveness probe with the current verdict. */
  async function interval(ms = 2000): Promise<void> {
    await clock.advance(ms);
    await monitor.checkLiveness(AGENT);
  }

  it("never loses an agent whose status hangs while its liveness answers", async () => {
    client.next = () => new Promise<AgentStatusView>(() => {});
    void monitor.probe(AGENT);
    for (let i = 0; i < 60; i++) await interval();
    assert.equal(registry.agent(AGENT)?.healthy, true);
    assert.equal(monitor.isGone(AGENT), false);
    assert.deepEqual(changes, []);
  });

  it("never counts a failed status as a failed probe", async () => {
    client.next = async () => {
      throw new Error("status timed out");
    };
    for (let i = 0; i < 20; i++) {
      await monitor.probe(AGENT);
      await interval();
    }
    assert.equal(registry.agent(AGENT)?.healthy, true);
  });

  it("loses an agent only after the loss timeout AND three failed probes", async () => {
    verdict = "failed";
    // 3 failures within 6 s: not yet (loss timeout 15 s).
    for (let i = 0; i < 3; i++) await interval();
    assert.equal(registry.agent(AGENT)?.healthy, true);
    for (let i = 0; i < 3; i++) await interval();
    assert.equal(registry.agent(AGENT)?.healthy, true, "12 s of silence is less than the loss timeout");
    await interval(3000);
    assert.equal(registry.agent(AGENT)?.healthy, false);
    assert.equal(monitor.isGone(AGENT), true);
    assert.deepEqual(changes, [`${AGENT}:lost`]);
    // Said once, not on every further failure.
    await interval();
    assert.deepEqual(changes, [`${AGENT}:lost`]);
  });

  it("does not lose an agent for the controller's own stall (inconclusive probes)", async () => {
    verdict = "failed";
    await interval();
    await interval();
    verdict = "inconclusive";
    for (let i = 0; i < 30; i++) await interval();
    assert.equal(registry.agent(AGENT)?.healthy, true, "two real failures and a long stall are not a loss");
  });

  it("one answer in the middle starts the count again", async () => {
    verdict = "failed";
    for (let i = 0; i < 8; i++) await interval();
    assert.equal(registry.agent(AGENT)?.healthy, false);
    verdict = "answered";
    await interval();
    // Healthy again only with a status: placement needs fresh capacity and images.
    await monitor.probe(AGENT);
    assert.equal(registry.agent(AGENT)?.healthy, true);
    assert.equal(monitor.isGone(AGENT), false);
    verdict = "failed";
    for (let i = 0; i < 5; i++) await interval();
    assert.equal(registry.agent(AGENT)?.healthy, true);
  });

  it("counts an agent never heard from since start as gone once the loss timeout has passed", async () => {
    assert.equal(monitor.isGone("never-seen"), false);
    assert.equal(monitor.untilGone("never-seen"), LOSS_MS);
    await clock.advance(LOSS_MS);
    assert.equal(monitor.isGone("never-seen"), true);
    assert.equal(monitor.untilGone(AGENT), undefined);
  });

  describe("whether a sandbox is on its agent", () => {
    const SANDBOX = "sb-1";
    const answer = (sandboxes: string[], takenAt?: number): AgentStatusView => ({
      ...statusView(),
      sandboxes: sandboxes.map((sandboxId) => ({ sandboxId }) as AgentStatusView["sandboxes"][number]),
      ...(takenAt === undefined ? {} : { takenAt: new Date(takenAt).toISOString() }),
    });
    const statusOf = async (sandboxes: string[] = [], takenAt?: number) => {
      client.next = async () => answer(sandboxes, takenAt);
      await monitor.probe(AGENT);
    };

    it("takes no status asked for in the millisecond the create was answered as saying it is missing", async () => {
      const startedAt = clock.now();
      await statusOf();
      assert.equal(monitor.sandboxOnAgent(AGENT, SANDBOX, startedAt), undefined);
      await clock.advance(1);
      await statusOf();
      assert.deepEqual(monitor.sandboxOnAgent(AGENT, SANDBOX, startedAt), { present: false });
    });

    it("takes no status asked for before the create was answered, even one that arrives after", async () => {
      let release = (_: AgentStatusView) => {};
      client.next = () => new Promise((resolve) => (release = resolve));
      const probing = monitor.probe(AGENT);
      await clock.advance(5);
      const startedAt = clock.now(); // the create's answer, while the status is on its way
      await clock.advance(5);
      release(answer([]));
      await probing;
      assert.equal(monitor.sandboxOnAgent(AGENT, SANDBOX, startedAt), undefined);
    });

    it("judges by the controller's own clock, whatever the agent's clock stamps on its status", async () => {
      const startedAt = clock.now();
      // The node's clock 10 s ahead: its stamp says nothing about the order on the controller's clock.
      await statusOf([], startedAt + 10_000);
      assert.equal(monitor.sandboxOnAgent(AGENT, SANDBOX, startedAt), undefined);
      // 10 s behind: a status asked for after the create's answer counts all the same.
      await clock.advance(1);
      await statusOf([SANDBOX], startedAt - 10_000);
      assert.equal(monitor.sandboxOnAgent(AGENT, SANDBOX, startedAt)?.present, true);
    });
  });
});

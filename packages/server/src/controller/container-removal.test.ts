// removeContainer: through the agent while it may come back, left to the janitor once it is gone.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "@fast-sandbox/api";
import { pino } from "pino";
import { AgentCallError } from "./agent-call-error.ts";
import { AgentClient } from "./agent-client.ts";
import { type RemovalAgents, removeContainer } from "./container-removal.ts";

class FakeClient extends AgentClient {
  deleted: string[] = [];
  fail: Error | undefined;
  onDelete = () => {};
  override async delete(sandboxId: string): Promise<void> {
    this.onDelete();
    if (this.fail) throw this.fail;
    this.deleted.push(sandboxId);
  }
}

function agents(o: {
  gone?: boolean;
  known?: boolean;
  untilGone?: number;
  client?: FakeClient;
}): RemovalAgents {
  return {
    isGone: () => o.gone ?? false,
    untilGone: () => (o.known === false ? (o.untilGone ?? 0) : undefined),
    client: () => (o.known === false ? undefined : o.client),
    aliveSignal: () => undefined,
  };
}

const status = { assignedAgent: "a1", sandboxID: "s-1" };
const unreachable = () => new AgentCallError(ErrorCode.Unavailable, "refused", { delivery: "not-sent" });

async function run(a: RemovalAgents, s: typeof status | object = status) {
  const released: string[] = [];
  const removal = await removeContainer(
    { agents: a, release: (id) => released.push(id), logger: pino({ level: "silent" }) },
    s,
    { gracePeriodSeconds: 0 },
  );
  return { removal, released };
}

describe("removeContainer", () => {
  it("has nothing to do for a sandbox never placed", async () => {
    assert.deepEqual(await run(agents({}), {}), { removal: { kind: "removed" }, released: [] });
  });

  it("removes through a reachable agent and frees the slot", async () => {
    const client = new FakeClient("http://a1", undefined);
    assert.deepEqual(await run(agents({ client })), { removal: { kind: "removed" }, released: ["s-1"] });
    assert.deepEqual(client.deleted, ["s-1"]);
  });

  it("leaves the container of a gone agent to the janitor without calling it", async () => {
    const client = new FakeClient("http://a1", undefined);
    assert.deepEqual(await run(agents({ client, gone: true })), {
      removal: { kind: "left" },
      released: ["s-1"],
    });
    assert.deepEqual(client.deleted, []);
  });

  it("waits for an agent not known yet, until it would count as gone", async () => {
    assert.deepEqual(await run(agents({ known: false, untilGone: 4000 })), {
      removal: { kind: "wait", retryAfterMs: 4000 },
      released: [],
    });
  });

  it("waits (keeping the slot) while a known agent is unreachable but not lost", async () => {
    const client = new FakeClient("http://a1", undefined);
    client.fail = unreachable();
    assert.deepEqual(await run(agents({ client })), {
      removal: { kind: "wait", retryAfterMs: 1000 },
      released: [],
    });
  });

  it("leaves it once the agent is declared lost during the call", async () => {
    const client = new FakeClient("http://a1", undefined);
    let gone = false;
    client.fail = unreachable();
    client.onDelete = () => {
      gone = true;
    };
    const a = { ...agents({ client }), isGone: () => gone };
    assert.deepEqual(await run(a), { removal: { kind: "left" }, released: ["s-1"] });
  });

  it("throws the agent's own error (retried with backoff), keeping the slot", async () => {
    const client = new FakeClient("http://a1", undefined);
    client.fail = new AgentCallError(ErrorCode.Unavailable, "containerd is down", { delivery: "answered" });
    await assert.rejects(run(agents({ client })), /containerd is down/);
  });
});

// The prewarm worker's manners, with a fake runtime: after a take it leaves the new sandbox's first
// moments alone, and it starts no container while a create or a command holds it (for a bounded time).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { prewarmKey } from "@fast-sandbox/api";
import pino from "pino";
import type { ContainerRuntime } from "../containerd/container-runtime.ts";
import type { ImageResolver } from "../containerd/image-resolver.ts";
import { parseAgentConfig } from "./agent-config.ts";
import { AgentMetrics } from "./agent-metrics.ts";
import { AgentNetworks } from "./agent-networks.ts";
import { PrewarmPool } from "./prewarm-pool.ts";
import { StatusRevision } from "./status-revision.ts";

const TEMPLATE = { image: "busybox", command: ["sleep", "600"], args: [], env: {}, count: 1 };
const KEY = prewarmKey(TEMPLATE);
const DIGEST = "sha256:0000";

describe("PrewarmPool refills", () => {
  /** performance.now() of each container create the worker started. */
  const creates: number[] = [];
  let pool: PrewarmPool;

  before(() => {
    const parsed = parseAgentConfig(["--agent-id", "a1"], { FSB_AGENT_TOKEN: "t" }, () => "");
    if (parsed.help) throw new Error("unexpected help");
    const runtime = {
      create: async () => {
        creates.push(performance.now());
      },
      delete: async () => {},
    } as unknown as ContainerRuntime;
    const images = {
      resolve: async () => ({ digest: DIGEST, config: {} }),
    } as unknown as ImageResolver;
    pool = new PrewarmPool({
      config: { ...parsed.config, logDir: "/nonexistent-fsb-test" },
      runtime,
      images,
      logger: pino({ level: "silent" }),
      networks: new AgentNetworks({
        agentId: "prewarm-test",
        pool: "default-pool",
        config: parsed.config.sandboxNetwork,
        logger: pino({ level: "silent" }),
      }),
      metrics: new AgentMetrics({
        capacity: () => 1,
        allocated: () => 0,
        prewarmReady: () => 0,
        execRunning: () => 0,
        execBufferedBytes: () => 0,
      }),
      revision: new StatusRevision(),
    });
    pool.setDesired([{ ...TEMPLATE, key: KEY }]);
    pool.start();
  });
  after(() => pool.stop());

  async function ready(): Promise<void> {
    const deadline = performance.now() + 5000;
    while (pool.readyCount < 1) {
      assert.ok(performance.now() < deadline, "the pool never filled");
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it("waits at least 150 ms after a take before it makes the replacement", async () => {
    await ready();
    const before = creates.length;
    const takenAt = performance.now();
    assert.ok(pool.take(KEY, DIGEST));
    await ready();
    assert.equal(creates.length, before + 1);
    assert.ok(creates.at(-1)! - takenAt >= 150, `made ${creates.at(-1)! - takenAt} ms after the take`);
  });

  it("makes nothing while held, and the replacement once the hold is released", async () => {
    await ready();
    const before = creates.length;
    const release = pool.hold();
    assert.ok(pool.take(KEY, DIGEST));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(creates.length, before, "a container was made while held");
    const releasedAt = performance.now();
    release();
    await ready();
    assert.equal(creates.length, before + 1);
    assert.ok(creates.at(-1)! >= releasedAt);
  });

  it("lets a hold that is never released delay a refill by a second at most", async () => {
    await ready();
    const release = pool.hold();
    try {
      const takenAt = performance.now();
      assert.ok(pool.take(KEY, DIGEST));
      await ready();
      const waited = creates.at(-1)! - takenAt;
      // At least the bound; and made, not left waiting for the hold (3 s leaves room for a loaded machine).
      assert.ok(waited >= 1000 && waited < 3000, `made after ${waited} ms`);
    } finally {
      release();
    }
  });
});

// A process that prints 512 MiB, read through the whole stack (controller → agent → containerd) by
// a client that keeps nothing, and a 384 MiB file uploaded and downloaded the same way: neither the
// controller's nor the agent's memory grows with them. (Until the error boundary's fix, the
// controller kept every message: 1 GiB of RSS per 384 MiB printed.)
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { FastSandbox } from "@fast-sandbox/sdk";
import { rssBytes } from "../../bench/process-memory.ts";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { readLocalAgents } from "../harness/local-agents.ts";

const STREAM_BYTES = 512 * 1024 * 1024;
/** Twice the growth bound: a hop that held the file whole would fail. */
const FILE_BYTES = 384 * 1024 * 1024;
/**
 * Far below what holding the stream would take. A process streaming fast carries garbage the GC
 * has not taken yet: 100–130 MiB measured here for 256 MiB and for 1 GiB alike, so not growing with
 * the stream.
 */
const MAX_GROWTH = 192 * 1024 * 1024;

describe("exec output and memory", () => {
  let conn: ContainerdConnection;
  let ctl: ControllerProcess;

  before(async () => {
    conn = await testConnection();
    ctl = await startControllerProcess({ socketPath: conn.socketPath, localAgents: 1, capacity: 1 });
    await ctl.client.createSandbox({ name: "loud", image: "busybox", command: ["sleep", "600"] });
  });
  after(async () => {
    await ctl?.cleanup();
    conn?.close();
  });

  /** Runs `work` while sampling both processes' RSS; the peak growth of each over its start. */
  async function growthDuring(work: () => Promise<void>): Promise<{ controller: number; agent: number }> {
    const [agent] = await readLocalAgents(path.join(ctl.dataDir, "agents"));
    assert.ok(agent, "the local agent's pid is recorded");
    const pids = { controller: ctl.pid, agent: agent.pid };
    const base = { controller: await rssBytes(pids.controller), agent: await rssBytes(pids.agent) };
    const peak = { ...base };
    const sampler = setInterval(() => {
      for (const k of ["controller", "agent"] as const) {
        void rssBytes(pids[k]).then((rss) => (peak[k] = Math.max(peak[k], rss)));
      }
    }, 100);
    try {
      await work();
    } finally {
      clearInterval(sampler);
    }
    return { controller: peak.controller - base.controller, agent: peak.agent - base.agent };
  }

  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

  it("streams 512 MiB of output with the controller's and the agent's memory bounded", async (t) => {
    const started = Date.now();
    let bytes = 0;
    let exitCode: number | undefined;
    const growth = await growthDuring(async () => {
      for await (const e of ctl.processes.exec({
        name: "loud",
        command: ["head", "-c", String(STREAM_BYTES), "/dev/zero"],
      })) {
        if (e.event.case === "stdout") bytes += e.event.value.length;
        if (e.event.case === "exited") exitCode = e.event.value.exitCode;
      }
    });
    const seconds = (Date.now() - started) / 1000;
    t.diagnostic(
      `512 MiB in ${seconds.toFixed(1)} s (${(bytes / 1e6 / seconds).toFixed(0)} MB/s); RSS growth controller ` +
        `${mib(growth.controller)} MiB, agent ${mib(growth.agent)} MiB`,
    );
    assert.equal(exitCode, 0);
    assert.equal(bytes, STREAM_BYTES, "every byte arrived");
    assert.ok(growth.controller < MAX_GROWTH, `the controller grew ${growth.controller} bytes`);
    assert.ok(growth.agent < MAX_GROWTH, `the agent grew ${growth.agent} bytes`);
  });

  it("uploads and downloads a 384 MiB file with the controller's and the agent's memory bounded", async (t) => {
    const box = await new FastSandbox({ endpoint: ctl.url, token: ctl.token }).sandboxes.get("loud");
    const piece = Buffer.alloc(1024 * 1024, 7);
    async function* content() {
      for (let i = 0; i < FILE_BYTES / piece.length; i++) yield piece;
    }
    let downloaded = 0;
    const growth = await growthDuring(async () => {
      await box.files.upload("/tmp/big.bin", content());
      for await (const chunk of await box.files.download("/tmp/big.bin")) downloaded += chunk.length;
    });
    t.diagnostic(`RSS growth controller ${mib(growth.controller)} MiB, agent ${mib(growth.agent)} MiB`);
    assert.equal(downloaded, FILE_BYTES, "every byte came back");
    assert.equal((await box.files.stat("/tmp/big.bin")).size, FILE_BYTES);
    assert.ok(growth.controller < MAX_GROWTH, `the controller grew ${growth.controller} bytes`);
    assert.ok(growth.agent < MAX_GROWTH, `the agent grew ${growth.agent} bytes`);
    await box.files.remove("/tmp/big.bin");
  });
});

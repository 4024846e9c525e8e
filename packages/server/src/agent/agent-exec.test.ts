// Processes inside sandboxes through a real fsb-agent on the real test containerd: exec, stdio, PTY, attach, limits.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type AgentProcess,
  removeLogDir,
  startAgentProcess,
} from "../../../../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_NAMESPACE } from "../../../../test/harness/constants.ts";
import { testConnection } from "../../../../test/harness/containerd.ts";
import { collect, execToEnd, openStream } from "../../../../test/harness/exec-stream.ts";
import type { ContainerdConnection } from "../containerd/connection.ts";

let agent: AgentProcess;
let conn: ContainerdConnection;
let seq = 0;

async function createSandbox(): Promise<string> {
  seq += 1;
  const sandboxId = `${agent.agentId}-x${seq}`;
  const res = await agent.request("POST", "/api/v1/agent/create", {
    sandbox: { sandboxId, name: `exec${seq}`, image: TEST_IMAGE, command: ["sleep", "600"] },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return sandboxId;
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

/** Resident memory of a process, from /proc. */
function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
}

async function metric(name: string): Promise<number> {
  const res = await agent.request("GET", "/metrics");
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(res.body as string)?.[1]);
}

/** Runs a process printing `total` bytes that nobody reads; samples the buffered-bytes gauge meanwhile. */
async function unreadRun(total: number) {
  const stream = await openStream(agent, "/api/v1/agent/exec", {
    sandboxId: mainSandbox,
    command: ["sh", "-c", `head -c ${total} /dev/zero; echo done >&2`],
  });
  const { processId } = (await stream.events.next()).value.started;
  stream.close();
  let maxBuffered = 0;
  for (let i = 0; i < 1200; i++) {
    maxBuffered = Math.max(maxBuffered, await metric("fsb_agent_exec_buffered_bytes"));
    const listed = await agent.request("GET", `/api/v1/agent/processes?sandboxId=${mainSandbox}`);
    if (listed.body.processes.find((p: any) => p.processId === processId)?.running === false) break;
    await sleep(50);
  }
  const r = await collect(
    await openStream(agent, "/api/v1/agent/processes/attach", { sandboxId: mainSandbox, processId }),
  );
  assert.equal(r.exit?.exitCode, 0);
  assert.equal(r.stderr, "done\n");
  const kept = r.stdout.length + r.stderr.length;
  // What was in flight to the reader that went away (socket buffers, a few hundred KiB) is lost, not counted.
  const accounted = r.dropped + kept;
  assert.ok(
    accounted <= total + 5 && accounted >= total - 4 * 1024 * 1024,
    `dropped ${r.dropped} + kept ${kept}`,
  );
  return { maxBuffered, kept };
}

let mainSandbox: string;

describe("agent exec", () => {
  let sandboxId: string;
  before(async () => {
    conn = await testConnection();
    agent = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      capacity: 5,
      extraArgs: ["--max-processes", "3"],
    });
    sandboxId = await createSandbox();
    mainSandbox = sandboxId;
  });
  after(async () => {
    await agent.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 0 });
    await agent.stop();
    await removeLogDir(agent.logDir);
    conn.close();
  });

  it("reports exit codes 0 and 1 and keeps stdout and stderr apart", async () => {
    const ok = await execToEnd(agent, { sandboxId, command: ["sh", "-c", "echo out; echo err >&2"] });
    assert.ok(ok.started?.processId && ok.started.pid > 0);
    assert.equal(ok.stdout, "out\n");
    assert.equal(ok.stderr, "err\n");
    assert.deepEqual(ok.exit, { exitCode: 0, signal: "", timedOut: false });
    const failed = await execToEnd(agent, { sandboxId, command: ["sh", "-c", "exit 1"] });
    assert.deepEqual(failed.exit, { exitCode: 1, signal: "", timedOut: false });
  });

  it("applies env, cwd and user (a name from the image's /etc/passwd)", async () => {
    const r = await execToEnd(agent, {
      sandboxId,
      command: ["sh", "-c", 'echo "$GREETING $(pwd) $(id -u):$(id -g)"'],
      env: { GREETING: "hi" },
      cwd: "/tmp",
      user: "nobody",
    });
    assert.equal(r.stdout, "hi /tmp 65534:65534\n");
    const numeric = await execToEnd(agent, { sandboxId, command: ["id", "-u"], user: "1234:5" });
    assert.equal(numeric.stdout, "1234\n");
    const unknown = await openStream(agent, "/api/v1/agent/exec", {
      sandboxId,
      command: ["id"],
      user: "ghost",
    });
    assert.equal(unknown.status, 412);
    assert.equal(unknown.body.error.field, "user");
  });

  it("has the node's busybox read-only at /.fsb/busybox", async () => {
    const r = await execToEnd(agent, {
      sandboxId,
      command: ["/.fsb/busybox", "sh", "-c", "/.fsb/busybox echo tool; echo x > /.fsb/busybox"],
    });
    assert.equal(r.stdout, "tool\n");
    assert.match(r.stderr, /Read-only file system/);
    assert.notEqual(r.exit?.exitCode, 0);
  });

  it("echoes stdin, and refuses input once the process has exited", async () => {
    const stream = await openStream(agent, "/api/v1/agent/exec", {
      sandboxId,
      command: ["cat"],
      stdin: true,
    });
    assert.equal(stream.status, 200);
    const first = await stream.events.next();
    const { processId } = first.value.started;
    const sent = await agent.request("POST", "/api/v1/agent/processes/input", {
      sandboxId,
      processId,
      data: b64("hello stdin\n"),
    });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const closed = await agent.request("POST", "/api/v1/agent/processes/close-input", {
      sandboxId,
      processId,
    });
    assert.equal(closed.status, 200, JSON.stringify(closed.body));
    const rest = await collect(stream);
    assert.equal(rest.stdout, "hello stdin\n");
    assert.equal(rest.exit?.exitCode, 0);
    const late = await agent.request("POST", "/api/v1/agent/processes/input", {
      sandboxId,
      processId,
      data: b64("x"),
    });
    assert.equal(late.status, 412);
    assert.match(late.body.error.message, /has exited/);
  });

  it("kills a process at its timeout and reports SIGKILL (137)", async () => {
    const started = Date.now();
    const r = await execToEnd(agent, { sandboxId, command: ["sleep", "30"], timeoutMs: 300 });
    assert.deepEqual(r.exit, { exitCode: 137, signal: "SIGKILL", timedOut: true });
    assert.ok(Date.now() - started < 10_000);
  });

  it("signals a process by name", async () => {
    const stream = await openStream(agent, "/api/v1/agent/exec", { sandboxId, command: ["sleep", "30"] });
    const { processId } = (await stream.events.next()).value.started;
    const res = await agent.request("POST", "/api/v1/agent/processes/signal", {
      sandboxId,
      processId,
      signal: "SIGKILL",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const r = await collect(stream);
    assert.deepEqual(r.exit, { exitCode: 137, signal: "SIGKILL", timedOut: false });
  });

  it("runs a terminal: tty says so, and a resize changes stty size", async () => {
    const stream = await openStream(agent, "/api/v1/agent/exec", {
      sandboxId,
      command: ["sh", "-c", "tty; stty size; read line; stty size"],
      tty: true,
      cols: 100,
      rows: 30,
      stdin: true,
    });
    assert.equal(stream.status, 200);
    const { processId } = (await stream.events.next()).value.started;
    let output = "";
    // next() rather than for-await: breaking out of for-await would close the stream.
    while (!output.includes("30 100")) {
      const { value, done } = await stream.events.next();
      assert.ok(!done, `stream ended early: ${output}`);
      if (value.stdout) output += Buffer.from(value.stdout, "base64").toString();
    }
    assert.match(output, /\/dev\/pts\/\d+/);
    const resized = await agent.request("POST", "/api/v1/agent/processes/resize", {
      sandboxId,
      processId,
      cols: 120,
      rows: 40,
    });
    assert.equal(resized.status, 200, JSON.stringify(resized.body));
    await agent.request("POST", "/api/v1/agent/processes/input", { sandboxId, processId, data: b64("go\r") });
    const rest = await collect(stream);
    assert.match(output + rest.stdout, /40 120/);
    assert.equal(rest.stderr, "");
    assert.equal(rest.exit?.exitCode, 0);
  });

  it("runs two processes at once, lists them, and caps the running ones per sandbox", async () => {
    const a = await openStream(agent, "/api/v1/agent/exec", {
      sandboxId,
      command: ["sh", "-c", "sleep 1; echo A"],
    });
    const b = await openStream(agent, "/api/v1/agent/exec", {
      sandboxId,
      command: ["sh", "-c", "sleep 1; echo B"],
    });
    const c = await openStream(agent, "/api/v1/agent/exec", { sandboxId, command: ["sleep", "1"] });
    const full = await openStream(agent, "/api/v1/agent/exec", { sandboxId, command: ["true"] });
    assert.equal(full.status, 429);
    assert.equal(full.body.error.code, "RESOURCE_EXHAUSTED");
    const listed = await agent.request("GET", `/api/v1/agent/processes?sandboxId=${sandboxId}`);
    assert.equal(listed.status, 200);
    const running = listed.body.processes.filter((p: any) => p.running);
    assert.equal(running.length, 3);
    const [ra, rb] = await Promise.all([collect(a), collect(b), collect(c)]);
    assert.equal(ra.stdout, "A\n");
    assert.equal(rb.stdout, "B\n");
  });

  it("keeps output for a reader who comes back, and the exit after it", async () => {
    const first = await openStream(agent, "/api/v1/agent/exec", {
      sandboxId,
      command: ["sh", "-c", "echo one; sleep 0.5; echo two; sleep 0.5; echo three"],
    });
    const { processId } = (await first.events.next()).value.started;
    first.close();
    await sleep(1500);
    const again = await openStream(agent, "/api/v1/agent/processes/attach", { sandboxId, processId });
    assert.equal(again.status, 200);
    const r = await collect(again);
    assert.equal(r.started?.processId, processId);
    assert.match(r.stdout, /two\nthree\n$/);
    assert.equal(r.exit?.exitCode, 0);
  });

  it("answers FAILED_PRECONDITION with field command for a program not in the image", async () => {
    const r = await openStream(agent, "/api/v1/agent/exec", { sandboxId, command: ["no-such-program"] });
    assert.equal(r.status, 412, JSON.stringify(r.body));
    assert.equal(r.body.error.code, "FAILED_PRECONDITION");
    assert.equal(r.body.error.field, "command");
  });

  it("refuses input to a process started without stdin", async () => {
    const stream = await openStream(agent, "/api/v1/agent/exec", { sandboxId, command: ["sleep", "5"] });
    const { processId } = (await stream.events.next()).value.started;
    const res = await agent.request("POST", "/api/v1/agent/processes/input", {
      sandboxId,
      processId,
      data: b64("x"),
    });
    assert.equal(res.status, 412);
    assert.match(res.body.error.message, /without stdin/);
    await agent.request("POST", "/api/v1/agent/processes/signal", { sandboxId, processId, signal: 9 });
    await collect(stream);
  });

  it("keeps at most 1 MiB of output nobody reads, and the agent's memory stays bounded", async () => {
    // Retention is exact (the buffered-bytes gauge, sampled while the output flows); memory is
    // judged by a plateau: 400 MiB more through the agent must not grow it past the first run's mark.
    const first = await unreadRun(200 * 1024 * 1024);
    const rssAfterFirst = rssKiB(agent.pid);
    const second = await unreadRun(400 * 1024 * 1024);
    const growth = rssKiB(agent.pid) - rssAfterFirst;
    for (const run of [first, second]) {
      assert.ok(run.maxBuffered <= 1024 * 1024, `buffered ${run.maxBuffered} bytes`);
      assert.ok(run.kept <= 1024 * 1024, `kept ${run.kept} bytes`);
    }
    assert.ok(growth < 48 * 1024, `agent RSS grew by ${growth} KiB over 400 MiB of unread output`);
  });

  it("holds a fast writer back while its reader does not read", async () => {
    const rssBefore = rssKiB(agent.pid);
    const stream = await openStream(agent, "/api/v1/agent/exec", {
      sandboxId,
      command: ["head", "-c", String(100 * 1024 * 1024), "/dev/zero"],
    });
    const { processId } = (await stream.events.next()).value.started;
    await sleep(1500);
    const listed = await agent.request("GET", `/api/v1/agent/processes?sandboxId=${sandboxId}`);
    assert.equal(listed.body.processes.find((p: any) => p.processId === processId)?.running, true);
    assert.ok(rssKiB(agent.pid) - rssBefore < 64 * 1024, "the agent buffered the output");
    const r = await collect(stream);
    assert.equal(r.stdout.length, 100 * 1024 * 1024);
    assert.equal(r.dropped, 0);
  });

  it("refuses exec in a sandbox that is not running", async () => {
    seq += 1;
    const exitedId = `${agent.agentId}-x${seq}`;
    const res = await agent.request("POST", "/api/v1/agent/create", {
      sandbox: { sandboxId: exitedId, name: `exited${seq}`, image: TEST_IMAGE, command: ["true"] },
    });
    assert.equal(res.status, 200);
    for (let i = 0; i < 100; i++) {
      const status = await agent.request("GET", "/api/v1/agent/status");
      if (status.body.sandboxes.find((s: any) => s.sandboxId === exitedId)?.phase === "Exited") break;
      await sleep(50);
    }
    const r = await openStream(agent, "/api/v1/agent/exec", { sandboxId: exitedId, command: ["true"] });
    assert.equal(r.status, 412);
    assert.match(r.body.error.message, /Exited/);
    await agent.request("POST", "/api/v1/agent/delete", { sandboxId: exitedId });
  });

  it("ends the stream with an error line when the sandbox is deleted mid-exec", async () => {
    const doomed = await createSandbox();
    const stream = await openStream(agent, "/api/v1/agent/exec", {
      sandboxId: doomed,
      command: ["sh", "-c", "echo before; sleep 60"],
    });
    const reading = collect(stream);
    await sleep(300);
    const deleted = await agent.request("POST", "/api/v1/agent/delete", {
      sandboxId: doomed,
      gracePeriodSeconds: 0,
    });
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    const r = await reading;
    assert.equal(r.stdout, "before\n");
    assert.equal(r.exit, undefined);
    assert.equal(r.error?.code, "NOT_FOUND");
    assert.match(r.error?.message ?? "", /deleted/);
  });

  it("answers NOT_FOUND for an unknown sandbox", async () => {
    const r = await openStream(agent, "/api/v1/agent/exec", { sandboxId: "nope-nope", command: ["true"] });
    assert.equal(r.status, 404);
  });
});

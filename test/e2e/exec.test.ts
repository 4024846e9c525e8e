// Processes in sandboxes through the whole stack (SDK or fsb-ctl → controller → agent → containerd):
// exit codes, stdout and stderr apart, stdin, timeout, a terminal, a second reader, and `fsb-ctl exec -it`
// driven through tmux.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { FastSandbox, type Sandbox } from "@fast-sandbox/sdk";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import {
  buildCli,
  type CliWorkspace,
  cliWorkspace,
  FSB_CTL,
  shellQuote,
  startTerminal,
} from "../harness/cli.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";

describe("exec through the API", () => {
  let conn: ContainerdConnection;
  let ctl: ControllerProcess;
  let fsb: FastSandbox;
  let box: Sandbox;
  let ws: CliWorkspace;

  before(async () => {
    conn = await testConnection();
    await buildCli();
    [ctl, ws] = await Promise.all([
      startControllerProcess({ socketPath: conn.socketPath, localAgents: 1, capacity: 2 }),
      cliWorkspace(),
    ]);
    fsb = new FastSandbox({ endpoint: ctl.url, token: ctl.token });
    box = await fsb.sandboxes.create({ name: "ex", image: "busybox", command: ["sleep", "600"] });
  });
  after(async () => {
    await ctl?.cleanup();
    await ws?.cleanup();
    conn?.close();
  });

  it("reports exit codes 0, 1 and 137 as results, with stdout and stderr apart", async () => {
    assert.deepEqual(await box.exec("echo out; echo err >&2"), {
      exitCode: 0,
      signal: "",
      timedOut: false,
      stdout: "out\n",
      stderr: "err\n",
    });
    assert.equal((await box.exec(["false"])).exitCode, 1);
    const killed = await box.exec("kill -9 $$");
    assert.deepEqual([killed.exitCode, killed.signal], [137, "SIGKILL"]);
  });

  it("passes stdin, env, cwd and user", async () => {
    assert.equal((await box.exec(["cat"], { stdin: "hello\n" })).stdout, "hello\n");
    const r = await box.exec("echo $A $(pwd) $(id -u)", { env: { A: "x" }, cwd: "/tmp", user: "65534" });
    assert.equal(r.stdout, "x /tmp 65534\n");
  });

  it("kills a process whose timeout passes", async () => {
    const started = Date.now();
    const r = await box.exec(["sleep", "30"], { timeoutMs: 300 });
    assert.deepEqual([r.exitCode, r.timedOut], [137, true]);
    assert.ok(Date.now() - started < 10_000);
  });

  it("refuses a program that is not in the image with a typed error naming command", async () => {
    await assert.rejects(box.exec(["/no/such/program"]), (err: unknown) => {
      const e = err as { code?: string; field?: string };
      assert.deepEqual([e.code, e.field], ["failed_precondition", "command"]);
      return true;
    });
  });

  it("runs a terminal: tty is a terminal and a resize changes stty size", async () => {
    let screen = "";
    const term = await box.pty.create({
      cols: 100,
      rows: 30,
      onData: (d) => (screen += Buffer.from(d).toString()),
    });
    await term.write("tty; stty size\n");
    await until(
      () => /\/dev\/pts\/\d+[\s\S]*30 100/.test(screen),
      () => screen,
    );
    await term.resize({ cols: 120, rows: 40 });
    await term.write("stty size; exit 3\n");
    assert.equal((await term.wait()).exitCode, 3);
    assert.match(screen, /40 120/);
  });

  it("ends the first reader's stream with ABORTED when another attaches", async () => {
    const client = ctl.processes;
    const first = client.exec({ name: "ex", command: ["sleep", "5"] })[Symbol.asyncIterator]();
    const started = (await first.next()).value;
    assert.equal(started?.event.case, "started");
    const processId = started?.event.case === "started" ? started.event.value.processId : "";
    const second = client.attachProcess({ name: "ex", processId })[Symbol.asyncIterator]();
    assert.equal((await second.next()).value?.event.case, "started");
    await assert.rejects(first.next(), (err) => ConnectError.from(err).code === Code.Aborted);
    const third = client.attachProcess({ name: "ex", processId })[Symbol.asyncIterator]();
    await third.next();
    await assert.rejects(second.next(), (err) => ConnectError.from(err).code === Code.Aborted);
    await client.signalProcess({ name: "ex", processId, signal: "SIGKILL" });
  });

  it("fsb-ctl exec streams output and exits with the process's code", async () => {
    const env = { FSB_ENDPOINT: ctl.url, FSB_TOKEN: ctl.token };
    const r = await ws.run(["exec", "ex", "--", "sh", "-c", "echo hi; echo oops >&2; exit 5"], { env });
    assert.deepEqual([r.code, r.stdout, r.stderr], [5, "hi\n", "oops\n"]);
    const piped = await ws.run(["exec", "-i", "-e", "A=1", "ex", "--", "sh", "-c", "cat; echo $A"], {
      env,
      input: "in\n",
    });
    assert.deepEqual([piped.code, piped.stdout], [0, "in\n1\n"]);
  });

  it("fsb-ctl exec -it in a real terminal: a shell answers, and exit 3 is fsb-ctl's exit code", async () => {
    const vars = { ...ws.env, FSB_ENDPOINT: ctl.url, FSB_TOKEN: ctl.token };
    const assignments = Object.entries(vars)
      .filter(([key]) => /^(HOME|PATH|FSB_\w+)$/.test(key))
      .map(([key, value]) => `${key}=${shellQuote(value)}`)
      .join(" ");
    const terminal = await startTerminal(
      `env -i TERM="$TERM" ${assignments} ${FSB_CTL} exec -it ex -- sh; echo "fsb-ctl exited $?"; stty -a | grep -o -- '-\\?icanon'`,
    );
    try {
      await terminal.sendKeys("echo $((6*7))", "Enter");
      await terminal.waitFor(/^42$/m);
      await terminal.sendKeys("exit 3", "Enter");
      const all = await terminal.waitFor(/fsb-ctl exited \d+/);
      assert.equal(all, "fsb-ctl exited 3", await terminal.capture());
      // The local terminal is back in canonical (cooked) mode.
      assert.match(await terminal.waitFor(/^-?icanon$/m), /^icanon$/);
    } finally {
      await terminal.kill();
    }
  });
});

async function until(done: () => boolean, describe: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not reached: ${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

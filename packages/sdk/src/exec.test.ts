// `sandbox.exec`, `sandbox.processes` and `sandbox.pty` over a real Connect transport against an in-process
// fake ProcessService: results, input in chunks, typed errors, cancellation and broken streams.
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { FastPathService, SandboxInfoSchema } from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { ExecEventSchema, ProcessService } from "@fast-sandbox/api/gen/fastsandbox/v1/process_pb.ts";
import { BadRequestSchema } from "@fast-sandbox/api/gen/google/rpc/error_details_pb.ts";
import { FastSandbox } from "./client.ts";
import { FastSandboxError, NotFoundError, UnavailableError } from "./errors.ts";
import type { Sandbox } from "./sandbox.ts";

const ev = (event: MessageInitShape<typeof ExecEventSchema>["event"]) => create(ExecEventSchema, { event });
const bytes = (s: string | number[]) => (typeof s === "string" ? Buffer.from(s) : Uint8Array.from(s));

/** What the fake was asked, and the input and signals of its processes. */
const fake = {
  inputs: [] as number[],
  signals: [] as string[],
  resizes: [] as string[],
  execs: [] as Array<{ command: string[]; stdin: boolean; tty: boolean; cols: number }>,
  bus: new EventEmitter(),
};

const processes: Partial<ServiceImpl<typeof ProcessService>> = {
  async *exec(req, context) {
    fake.execs.push({ command: req.command, stdin: req.stdin, tty: req.tty, cols: req.cols });
    const [program, arg = ""] = req.command[0] === "/bin/sh" ? ["sh", req.command[2] ?? ""] : req.command;
    if (program === "missing") {
      throw new ConnectError("missing: not found in the image", Code.FailedPrecondition, undefined, [
        {
          desc: BadRequestSchema,
          value: { fieldViolations: [{ field: "command", description: "not in the image" }] },
        },
      ]);
    }
    yield ev({ case: "started", value: { processId: "p-1", pid: 42 } });
    if (program === "break") throw new ConnectError("sandbox default/web was deleted", Code.NotFound);
    if (program === "truncated") return;
    if (program === "cat") {
      const chunks: Buffer[] = [];
      const onInput = (data: Buffer) => chunks.push(data);
      fake.bus.on("input", onInput);
      await once(fake.bus, "close", { signal: context.signal });
      fake.bus.off("input", onInput);
      yield ev({ case: "stdout", value: Buffer.concat(chunks) });
      yield ev({ case: "exited", value: { exitCode: 0, signal: "", timedOut: false } });
      return;
    }
    if (program === "sleep") {
      const [signal] = (await once(fake.bus, "signal", { signal: context.signal })) as [string];
      yield ev({ case: "exited", value: { exitCode: 137, signal, timedOut: false } });
      return;
    }
    // "sh <text>": é split across two chunks, stderr apart, exit code from the text's length.
    yield ev({ case: "stdout", value: bytes([0x6f, 0x75, 0x74, 0xc3]) });
    yield ev({ case: "stdout", value: bytes([0xa9]) });
    yield ev({ case: "stderr", value: bytes("err") });
    yield ev({ case: "exited", value: { exitCode: arg.length, signal: "", timedOut: arg === "slow" } });
  },
  async sendInput(req) {
    fake.inputs.push(req.data.length);
    fake.bus.emit("input", Buffer.from(req.data));
    return {};
  },
  async closeInput() {
    fake.bus.emit("close");
    return {};
  },
  async resizePty(req) {
    fake.resizes.push(`${req.cols}x${req.rows}`);
    return {};
  },
  async signalProcess(req) {
    fake.signals.push(`${req.processId} ${req.signal}`);
    fake.bus.emit("signal", req.signal);
    return {};
  },
  async listProcesses() {
    return { processes: [{ processId: "p-1", pid: 42, command: ["sleep"], running: false, exitCode: 137 }] };
  },
};

const sandboxes: Partial<ServiceImpl<typeof FastPathService>> = {
  async getSandbox(req) {
    return create(SandboxInfoSchema, { name: req.name, namespace: "default", phase: "Running" });
  },
};

describe("sandbox.exec and processes", () => {
  let server: http.Server;
  let box: Sandbox;

  before(async () => {
    server = http.createServer(
      connectNodeAdapter({
        routes: (router) => {
          router.service(FastPathService, sandboxes);
          router.service(ProcessService, processes);
        },
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const fsb = new FastSandbox({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: "t",
    });
    box = await fsb.sandboxes.get("web");
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  it("resolves with the exit code and both outputs; a non-zero exit is no error", async () => {
    const seen: string[] = [];
    const result = await box.exec("abc", { onStdout: (t) => seen.push(t) });
    assert.deepEqual(result, { exitCode: 3, signal: "", timedOut: false, stdout: "outé", stderr: "err" });
    assert.deepEqual(seen, ["out", "é"]);
    assert.deepEqual(fake.execs.at(-1), {
      command: ["/bin/sh", "-c", "abc"],
      stdin: false,
      tty: false,
      cols: 0,
    });
  });

  it("reports a timeout as a result", async () => {
    assert.equal((await box.exec(["sh", "slow"])).timedOut, true);
  });

  it("writes stdin in chunks of at most 1 MiB, then closes it", async () => {
    fake.inputs.length = 0;
    const input = "x".repeat(1024 * 1024 + 10);
    const result = await box.exec(["cat"], { stdin: input });
    assert.equal(result.stdout.length, input.length);
    assert.deepEqual(fake.inputs, [1024 * 1024, 10]);
    assert.equal(fake.execs.at(-1)?.stdin, true);
  });

  it("throws a typed error with a hint for a program that is not in the image", async () => {
    await assert.rejects(box.exec(["missing"]), (err: unknown) => {
      assert.ok(err instanceof FastSandboxError);
      assert.equal(err.code, "failed_precondition");
      assert.equal(err.field, "command");
      assert.match(err.hint ?? "", /not in the sandbox's image/);
      return true;
    });
  });

  it("throws the stream's error when it breaks after the start", async () => {
    await assert.rejects(box.exec(["break"]), NotFoundError);
  });

  it("kills the process when the caller cancels", async () => {
    const abort = new AbortController();
    const running = box.exec(["sleep"], { signal: abort.signal });
    while (!fake.execs.some((e) => e.command[0] === "sleep")) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
    abort.abort();
    await assert.rejects(
      running,
      (err: unknown) => err instanceof FastSandboxError && err.code === "cancelled",
    );
    assert.deepEqual(fake.signals.at(-1), "p-1 SIGKILL");
  });

  it("lists, kills and starts processes; a pty has a size and resizes", async () => {
    const [listed] = await box.processes.list();
    assert.deepEqual([listed?.processId, listed?.running, listed?.exitCode], ["p-1", false, 137]);
    const sleeper = await box.processes.start(["sleep"]);
    assert.deepEqual([sleeper.processId, sleeper.pid], ["p-1", 42]);
    await box.processes.kill(sleeper.processId, "SIGTERM");
    assert.deepEqual(await sleeper.wait(), { exitCode: 137, signal: "SIGTERM", timedOut: false });
    const term = await box.pty.create({ command: ["sleep"], cols: 120, rows: 40 });
    assert.deepEqual(fake.execs.at(-1), { command: ["sleep"], stdin: true, tty: true, cols: 120 });
    await term.resize({ cols: 100, rows: 30 });
    assert.deepEqual(fake.resizes, ["100x30"]);
    await term.kill();
    assert.equal((await term.wait()).signal, "SIGKILL");
  });

  it("a stream that ends without an exit is unavailable", async () => {
    await assert.rejects(box.exec(["truncated"]), UnavailableError);
  });
});

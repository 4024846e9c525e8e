// ProcessService over a real API server, routed to an in-memory agent: events, input, signals, reattach,
// the sandbox checks (NOT_FOUND, FAILED_PRECONDITION naming the phase) and bad input naming the field.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { API_VERSION, ErrorCode, SANDBOX_KIND, type Sandbox, SandboxPhase } from "@fast-sandbox/api";
import { type ExecEvent, ProcessService } from "@fast-sandbox/api/gen/fastsandbox/v1/process_pb.ts";
import { BadRequestSchema } from "@fast-sandbox/api/gen/google/rpc/error_details_pb.ts";
import { type ApiServer, createApiServer } from "../../api-server/api-server.ts";
import { AgentCallError } from "../agent-call-error.ts";
import { agentError, MemoryAgent } from "../memory-agent.ts";
import { processRpc } from "./process-rpc.ts";
import { SandboxProcesses } from "./sandbox-processes.ts";

const TOKEN = "test-token-0123456789";

function sandbox(name: string, phase: string, options: { agent?: string; deleting?: boolean } = {}): Sandbox {
  return {
    apiVersion: API_VERSION,
    kind: SANDBOX_KIND,
    metadata: {
      name,
      namespace: "default",
      ...(options.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: { image: "busybox" },
    status: { phase: phase as SandboxPhase, assignedAgent: options.agent ?? "a1", sandboxID: `id-${name}` },
  } as Sandbox;
}

/** The event's case and value, bytes as text: easy to compare. */
function plain(e: ExecEvent): [string, unknown] {
  const { case: kind, value } = e.event;
  return [kind ?? "none", value instanceof Uint8Array ? Buffer.from(value).toString() : value];
}

function codeOf(err: unknown): { code: Code; field: string | undefined; message: string } {
  const e = ConnectError.from(err);
  return {
    code: e.code,
    field: e.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field,
    message: e.rawMessage,
  };
}

describe("ProcessService routing", () => {
  let server: ApiServer;
  let client: Client<typeof ProcessService>;
  const agent = new MemoryAgent({ agentId: "a1", address: "10.0.0.1", now: () => 0 });
  const sandboxes = new Map<string, Sandbox>();

  before(async () => {
    for (const s of [
      sandbox("web", SandboxPhase.Running),
      sandbox("waiting", SandboxPhase.Pending),
      sandbox("going", SandboxPhase.Running, { deleting: true }),
      sandbox("orphan", SandboxPhase.Running, { agent: "gone" }),
    ]) {
      sandboxes.set(s.metadata.name, s);
    }
    await agent.create({ sandboxId: "id-web", name: "web", image: "busybox" });
    const processes = new SandboxProcesses({
      getSandbox: async (_ns, name) => {
        const found = sandboxes.get(name);
        if (!found) throw agentError(ErrorCode.NotFound, `sandbox default/${name} not found`);
        return found;
      },
      agent: (id) => (id === "a1" ? agent : undefined),
    });
    server = createApiServer({
      routes: (r) => r.service(ProcessService, processRpc(processes)),
      token: TOKEN,
    });
    await server.listen(0, "127.0.0.1");
    const transport = createConnectTransport({
      baseUrl: `http://127.0.0.1:${server.address!.port}`,
      httpVersion: "1.1",
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${TOKEN}`);
          return next(req);
        },
      ],
    });
    client = createClient(ProcessService, transport);
  });
  after(() => server.close());

  it("streams started, output and the exit of a process", async () => {
    const events: Array<[string, unknown]> = [];
    for await (const e of client.exec({ name: "web", command: ["echo", "hi"] })) events.push(plain(e));
    assert.equal(events.length, 3);
    assert.equal(events[0]![0], "started");
    assert.deepEqual(events[1], ["stdout", "echo hi\n"]);
    assert.equal(events[2]![0], "exited");
    assert.equal((events[2]![1] as { exitCode: number }).exitCode, 0);
    assert.ok(agent.processes.calls.includes("exec id-web echo hi"), agent.processes.calls.join("; "));
  });

  it("routes input, close, signals and resize to the sandbox's agent", async () => {
    const stream = client.exec({ name: "web", command: ["cat"], stdin: true })[Symbol.asyncIterator]();
    const started = plain((await stream.next()).value as ExecEvent);
    const { processId } = started[1] as { processId: string };
    await client.sendInput({ name: "web", processId, data: Buffer.from("abc") });
    assert.deepEqual(plain((await stream.next()).value as ExecEvent), ["stdout", "abc"]);
    await assert.rejects(client.resizePty({ name: "web", processId, cols: 80, rows: 24 }), (err) => {
      assert.equal(codeOf(err).code, Code.FailedPrecondition);
      return true;
    });
    await client.signalProcess({ name: "web", processId, signal: "SIGKILL" });
    const exited = plain((await stream.next()).value as ExecEvent);
    assert.deepEqual(exited, ["exited", { ...(exited[1] as object), exitCode: 137, signal: "SIGKILL" }]);
    assert.equal((await stream.next()).done, true);
    const { processes } = await client.listProcesses({ name: "web" });
    const listed = processes.find((p) => p.processId === processId);
    assert.equal(listed?.running, false);
    assert.equal(listed?.exitCode, 137);
    assert.deepEqual(listed?.command, ["cat"]);
    await assert.rejects(client.sendInput({ name: "web", processId, data: Buffer.from("late") }), (err) => {
      assert.equal(codeOf(err).code, Code.FailedPrecondition);
      return true;
    });
  });

  it("reattaches to a running process after the first stream went away", async () => {
    const first = new AbortController();
    const stream = client.exec(
      { name: "web", command: ["sh"], tty: true, cols: 100, rows: 30 },
      { signal: first.signal },
    );
    let processId = "";
    for await (const e of stream) {
      if (e.event.case === "started") processId = e.event.value.processId;
      break;
    }
    first.abort();
    await client.resizePty({ name: "web", processId, cols: 120, rows: 40 });
    const again = client.attachProcess({ name: "web", processId })[Symbol.asyncIterator]();
    assert.equal(plain((await again.next()).value as ExecEvent)[0], "started");
    await client.sendInput({ name: "web", processId, data: Buffer.from("ls\n") });
    assert.deepEqual(plain((await again.next()).value as ExecEvent), ["stdout", "ls\n"]);
    await client.closeInput({ name: "web", processId });
    assert.equal(plain((await again.next()).value as ExecEvent)[0], "exited");
    assert.ok(agent.processes.calls.includes(`resize id-web ${processId} 120x40`));
  });

  it("passes the agent's own refusal through with its field", async () => {
    agent.processes.failExecs.push(
      new AgentCallError(ErrorCode.FailedPrecondition, "nope: not in the image", {
        delivery: "answered",
        field: "command",
      }),
    );
    await assert.rejects(
      async () => {
        for await (const _ of client.exec({ name: "web", command: ["nope"] })) {
        }
      },
      (err) => {
        assert.deepEqual(codeOf(err), {
          code: Code.FailedPrecondition,
          field: "command",
          message: "command: nope: not in the image",
        });
        return true;
      },
    );
  });

  const refusals: Array<{
    name: string;
    call: () => Promise<unknown>;
    code: Code;
    field?: string;
    message?: RegExp;
  }> = [
    { name: "an unknown sandbox", call: () => client.listProcesses({ name: "nope" }), code: Code.NotFound },
    {
      name: "a Pending sandbox, naming the phase",
      call: () => client.listProcesses({ name: "waiting" }),
      code: Code.FailedPrecondition,
      message: /sandbox default\/waiting is Pending: processes run only in a Running sandbox/,
    },
    {
      name: "a sandbox being deleted, as Terminating",
      call: () => client.sendInput({ name: "going", processId: "p1" }),
      code: Code.FailedPrecondition,
      message: /is Terminating/,
    },
    {
      name: "a sandbox whose agent is not registered",
      call: () => client.closeInput({ name: "orphan", processId: "p1" }),
      code: Code.Unavailable,
      message: /agent gone of sandbox default\/orphan is not reachable/,
    },
    {
      name: "an unknown process",
      call: () => client.closeInput({ name: "web", processId: "p999" }),
      code: Code.NotFound,
    },
    { name: "no name", call: () => client.listProcesses({}), code: Code.InvalidArgument, field: "name" },
    {
      name: "no process id",
      call: () => client.signalProcess({ name: "web", signal: "SIGTERM" }),
      code: Code.InvalidArgument,
      field: "processId",
    },
    {
      name: "an unknown signal",
      call: () => client.signalProcess({ name: "web", processId: "p1", signal: "SIGSTOP" }),
      code: Code.InvalidArgument,
      field: "signal",
    },
    {
      name: "input over 1 MiB",
      call: () => client.sendInput({ name: "web", processId: "p1", data: new Uint8Array(1024 * 1024 + 1) }),
      code: Code.InvalidArgument,
      field: "data",
    },
    {
      name: "a terminal size of 0",
      call: () => client.resizePty({ name: "web", processId: "p1", cols: 0, rows: 24 }),
      code: Code.InvalidArgument,
      field: "cols",
    },
  ];
  for (const c of refusals) {
    it(`refuses ${c.name}`, async () => {
      await assert.rejects(c.call(), (err) => {
        const got = codeOf(err);
        assert.equal(got.code, c.code, got.message);
        assert.equal(got.field, c.field);
        if (c.message) assert.match(got.message, c.message);
        return true;
      });
    });
  }

  it("refuses every process RPC on a sandbox that is not Running, naming the phase", async () => {
    const t = { name: "waiting", processId: "p1" };
    const drain = async (stream: AsyncIterable<unknown>) => {
      for await (const _ of stream) {
      }
    };
    const calls: Record<string, () => Promise<unknown>> = {
      Exec: () => drain(client.exec({ name: "waiting", command: ["true"] })),
      AttachProcess: () => drain(client.attachProcess(t)),
      SendInput: () => client.sendInput(t),
      CloseInput: () => client.closeInput(t),
      ResizePty: () => client.resizePty({ ...t, cols: 80, rows: 24 }),
      SignalProcess: () => client.signalProcess({ ...t, signal: "SIGTERM" }),
      ListProcesses: () => client.listProcesses(t),
    };
    assert.deepEqual(Object.keys(calls).sort(), ProcessService.methods.map((m) => m.name).sort());
    for (const [rpc, call] of Object.entries(calls)) {
      await assert.rejects(call(), (err) => {
        const got = codeOf(err);
        assert.equal(got.code, Code.FailedPrecondition, `${rpc}: ${got.message}`);
        assert.match(got.message, /is Pending: processes run only in a Running sandbox/);
        return true;
      });
    }
  });

  const badExecs: Array<{ name: string; request: Record<string, unknown>; field: string }> = [
    { name: "no command", request: { name: "web" }, field: "command" },
    { name: "a relative cwd", request: { name: "web", command: ["ls"], cwd: "tmp" }, field: "cwd" },
    {
      name: "a bad env name",
      request: { name: "web", command: ["ls"], env: { "A-B": "1" } },
      field: "env.A-B",
    },
    { name: "cols without tty", request: { name: "web", command: ["ls"], cols: 80 }, field: "cols" },
    { name: "a bad user", request: { name: "web", command: ["ls"], user: "a b" }, field: "user" },
  ];
  for (const c of badExecs) {
    it(`refuses an exec with ${c.name}, before reaching the agent`, async () => {
      const before = agent.processes.calls.length;
      await assert.rejects(
        async () => {
          for await (const _ of client.exec(c.request)) {
          }
        },
        (err) => {
          assert.deepEqual([codeOf(err).code, codeOf(err).field], [Code.InvalidArgument, c.field]);
          return true;
        },
      );
      assert.equal(agent.processes.calls.length, before);
    });
  }
});

// Integration test: a real agent refuses bad HTTP requests with exact statuses and codes, and keeps nothing of them.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { anchorContainerId, Labels } from "@fast-sandbox/api";
import {
  type AgentProcess,
  type AgentResponse,
  removeLogDir,
  startAgentProcess,
} from "../../../../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_NAMESPACE } from "../../../../test/harness/constants.ts";
import { testConnection } from "../../../../test/harness/containerd.ts";
import { leftoversOf, nothingLeft } from "../../../../test/harness/leftovers.ts";
import type { ContainerdConnection } from "../containerd/connection.ts";
import { ContainerRuntime } from "../containerd/container-runtime.ts";

const MIB = 1024 * 1024;
/** Ids of the creates that reach containerd are unique per run, so they cannot meet another test's. */
const RUN = randomBytes(3).toString("hex");
const NO_IMAGE_ID = `bad-input-${RUN}-noimage`;
const NO_COMMAND_ID = `bad-input-${RUN}-nocmd`;

/** A create body that would succeed, so each case breaks exactly one thing. */
function createBody(extra: Record<string, unknown> = {}): { sandbox: Record<string, unknown> } {
  return { sandbox: { sandboxId: "bad-input-ok", name: "bad-input", image: TEST_IMAGE, ...extra } };
}

interface Case {
  name: string;
  method: string;
  route: string;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Sends the request some other way than the harness's fetch (for chunked bodies). */
  send?: (agent: AgentProcess) => Promise<AgentResponse>;
  status: number;
  /** The error code; omitted for the few success cases. */
  code?: string;
  /** The exact `error.field`; undefined asserts that the body carries none. */
  field?: string;
  message?: RegExp;
  /** For success cases: the exact body. */
  ok?: unknown;
}

/** POSTs `total` bytes with chunked transfer encoding (no content-length), as a streaming client would. */
function postChunked(agent: AgentProcess, route: string, total: number): Promise<AgentResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${agent.url}${route}`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${agent.token}`, "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        res.on("error", reject);
      },
    );
    // The agent may answer (and stop caring) before the whole body is out; that is not a failure here.
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE" && err.code !== "ECONNRESET") reject(err);
    });
    const chunk = Buffer.alloc(64 * 1024, "x");
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

const cases: Case[] = [
  // Framing of the body.
  {
    name: "malformed JSON",
    method: "POST",
    route: "/api/v1/agent/create",
    body: '{"sandbox": {',
    status: 400,
    code: "INVALID_ARGUMENT",
    message: /malformed JSON/,
  },
  {
    name: "an empty body",
    method: "POST",
    route: "/api/v1/agent/create",
    body: "",
    status: 400,
    code: "INVALID_ARGUMENT",
    message: /body is empty/,
  },
  {
    name: "no body at all",
    method: "POST",
    route: "/api/v1/agent/delete",
    status: 400,
    code: "INVALID_ARGUMENT",
    message: /body is empty/,
  },
  {
    name: "a whitespace-only body",
    method: "POST",
    route: "/api/v1/agent/create",
    body: " \n\t ",
    status: 400,
    code: "INVALID_ARGUMENT",
    message: /body is empty/,
  },
  {
    name: "a JSON body over 1 MiB (content-length)",
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ env: { BIG: "x".repeat(MIB) } }),
    status: 413,
    code: "INVALID_ARGUMENT",
    message: /exceeds 1048576 bytes/,
  },
  {
    name: "a chunked body over 1 MiB (no content-length)",
    method: "POST",
    route: "/api/v1/agent/create",
    send: (agent) => postChunked(agent, "/api/v1/agent/create", MIB + 128 * 1024),
    status: 413,
    code: "INVALID_ARGUMENT",
    message: /exceeds 1048576 bytes/,
  },
  // Routing and methods.
  {
    name: "GET on create",
    method: "GET",
    route: "/api/v1/agent/create",
    status: 405,
    code: "INVALID_ARGUMENT",
    message: /use POST/,
  },
  {
    name: "PUT on delete",
    method: "PUT",
    route: "/api/v1/agent/delete",
    body: { sandboxId: "x" },
    status: 405,
    code: "INVALID_ARGUMENT",
    message: /use POST/,
  },
  {
    name: "POST on status",
    method: "POST",
    route: "/api/v1/agent/status",
    body: {},
    status: 405,
    code: "INVALID_ARGUMENT",
    message: /use GET/,
  },
  {
    name: "an unknown route",
    method: "GET",
    route: "/api/v1/agent/sandboxes",
    status: 404,
    code: "NOT_FOUND",
    message: /no route/,
  },
  {
    name: "a known route with a trailing slash",
    method: "GET",
    route: "/api/v1/agent/status/",
    status: 404,
    code: "NOT_FOUND",
  },
  {
    name: "an unknown route without a token (routing comes before auth)",
    method: "GET",
    route: "/nope",
    headers: { authorization: "" },
    status: 404,
    code: "NOT_FOUND",
  },
  // Authentication.
  {
    name: "create without a token",
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody(),
    headers: { authorization: "" },
    status: 401,
    code: "UNAUTHENTICATED",
  },
  {
    name: "create with a wrong token",
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody(),
    headers: { authorization: "Bearer not-the-token" },
    status: 401,
    code: "UNAUTHENTICATED",
  },
  {
    name: "status with a non-bearer scheme",
    method: "GET",
    route: "/api/v1/agent/status",
    headers: { authorization: "Basic dXNlcjpwYXNz" },
    status: 401,
    code: "UNAUTHENTICATED",
  },
  {
    name: "logs without a token",
    method: "GET",
    route: "/api/v1/agent/logs?sandboxId=bad-input-ok",
    headers: { authorization: "" },
    status: 401,
    code: "UNAUTHENTICATED",
  },
  {
    name: "a wrong method without a token (auth comes before the method)",
    method: "GET",
    route: "/api/v1/agent/delete",
    headers: { authorization: "" },
    status: 401,
    code: "UNAUTHENTICATED",
  },
  // Logs.
  {
    name: "logs with a bad sandboxId",
    method: "GET",
    route: "/api/v1/agent/logs?sandboxId=Bad_ID",
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandboxId",
  },
  {
    name: "logs with a path as sandboxId",
    method: "GET",
    route: `/api/v1/agent/logs?sandboxId=${encodeURIComponent("../etc/passwd")}`,
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandboxId",
  },
  {
    name: "logs without a sandboxId",
    method: "GET",
    route: "/api/v1/agent/logs",
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandboxId",
  },
  {
    name: "logs of an unknown sandbox",
    method: "GET",
    route: "/api/v1/agent/logs?sandboxId=never-created",
    status: 404,
    code: "NOT_FOUND",
    message: /never-created/,
  },
  {
    name: "logs with follow=maybe",
    method: "GET",
    route: "/api/v1/agent/logs?sandboxId=never-created&follow=maybe",
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "follow",
  },
  // Creates that pass the schema but not the node.
  {
    name: "create for an image not on the node",
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ sandboxId: NO_IMAGE_ID, image: "docker.io/library/nope:1" }),
    status: 412,
    code: "FAILED_PRECONDITION",
    field: "sandbox.image",
    message: /not on this node/,
  },
  {
    name: "create whose command is not in the image (rolled back after containerd saw it)",
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ sandboxId: NO_COMMAND_ID, command: ["/no/such/binary"] }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.command",
    // The field travels as its own property; the message does not repeat it.
    message: /^"\/no\/such\/binary" was not found in the image$/,
  },
  // Create bodies the schema refuses.
  {
    name: "create without sandbox",
    method: "POST",
    route: "/api/v1/agent/create",
    body: {},
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox",
  },
  {
    name: "create with a JSON array body",
    method: "POST",
    route: "/api/v1/agent/create",
    body: [],
    status: 400,
    code: "INVALID_ARGUMENT",
  },
  {
    name: "create with an uppercase sandboxId",
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ sandboxId: "Bad-Input" }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.sandboxId",
  },
  {
    name: 'create with sandboxId "../x"',
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ sandboxId: "../x" }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.sandboxId",
  },
  {
    name: "create with a 64-character sandboxId",
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ sandboxId: "a".repeat(64) }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.sandboxId",
  },
  {
    name: 'create with image "UPPER/case"',
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ image: "UPPER/case" }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.image",
  },
  {
    name: "create with duplicate ports",
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ exposedPorts: [80, 80] }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.exposedPorts[1]",
  },
  {
    name: 'create with port "80"',
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ exposedPorts: ["80"] }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.exposedPorts[0]",
  },
  {
    name: 'create with env name "1BAD"',
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ env: { "1BAD": "x" } }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.env.1BAD",
  },
  {
    name: "create with an env value holding NUL",
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ env: { FOO: "a\u0000b" } }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.env.FOO",
  },
  {
    name: "create with an arg holding NUL",
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ command: ["/bin/sh"], args: ["-c", "true\u0000"] }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.args[1]",
  },
  {
    name: "create with command as a string",
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ command: "sleep 1" }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.command",
  },
  {
    name: 'create with a workingDir holding ".."',
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ workingDir: "/tmp/../etc" }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.workingDir",
  },
  {
    name: 'create with memory "1Mi"',
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ resources: { memory: "1Mi" } }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.resources.memory",
  },
  {
    name: 'create with cpu "-1"',
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ resources: { cpu: "-1" } }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.resources.cpu",
  },
  {
    name: "create with pids 0",
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ resources: { pids: 0 } }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.resources.pids",
  },
  {
    name: "create with an unknown top-level field",
    method: "POST",
    route: "/api/v1/agent/create",
    body: { ...createBody(), force: true },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "force",
  },
  {
    name: "create with an unknown sandbox field",
    method: "POST",
    route: "/api/v1/agent/create",
    body: createBody({ privileged: true }),
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandbox.privileged",
  },
  // Delete bodies.
  {
    name: 'delete with sandboxId "../x"',
    method: "POST",
    route: "/api/v1/agent/delete",
    body: { sandboxId: "../x" },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "sandboxId",
  },
  {
    name: "delete with gracePeriodSeconds -1",
    method: "POST",
    route: "/api/v1/agent/delete",
    body: { sandboxId: "never-created", gracePeriodSeconds: -1 },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "gracePeriodSeconds",
  },
  {
    name: "delete with gracePeriodSeconds 3601",
    method: "POST",
    route: "/api/v1/agent/delete",
    body: { sandboxId: "never-created", gracePeriodSeconds: 3601 },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "gracePeriodSeconds",
  },
  {
    name: 'delete with gracePeriodSeconds "10"',
    method: "POST",
    route: "/api/v1/agent/delete",
    body: { sandboxId: "never-created", gracePeriodSeconds: "10" },
    status: 400,
    code: "INVALID_ARGUMENT",
    field: "gracePeriodSeconds",
  },
  {
    name: "delete of an unknown sandbox is a harmless success",
    method: "POST",
    route: "/api/v1/agent/delete",
    body: { sandboxId: "never-created", gracePeriodSeconds: 0 },
    status: 200,
    ok: { success: true, sandboxId: "never-created" },
  },
];

describe("agent refuses bad input", () => {
  let agent: AgentProcess;
  let conn: ContainerdConnection;

  before(async () => {
    conn = await testConnection();
    agent = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      agentId: `bad-input-${RUN}`,
      capacity: 2,
    });
  });

  after(async () => {
    if (agent) {
      await agent.stop();
      await removeLogDir(agent.logDir);
    }
    conn?.close();
  });

  for (const tc of cases) {
    it(`${tc.name} → ${tc.status}${tc.code ? ` ${tc.code}` : ""}${tc.field ? ` on ${tc.field}` : ""}`, async () => {
      const res = tc.send
        ? await tc.send(agent)
        : await agent.request(tc.method, tc.route, tc.body, tc.headers);
      const context = `${tc.method} ${tc.route} → ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`;
      assert.equal(res.status, tc.status, context);
      if (tc.ok !== undefined) {
        assert.deepEqual(res.body, tc.ok, context);
        return;
      }
      assert.equal(typeof res.body, "object", `want a JSON error body: ${context}`);
      assert.equal(res.body.success, false, context);
      assert.equal(res.body.error.code, tc.code, context);
      assert.equal(res.body.error.field, tc.field, context);
      assert.equal(typeof res.body.error.message, "string", context);
      if (tc.message) assert.match(res.body.error.message, tc.message, context);
    });
  }

  it("afterwards: no slot taken, no sandbox listed", async () => {
    const res = await agent.request("GET", "/api/v1/agent/status");
    assert.equal(res.status, 200);
    assert.equal(res.body.agentId, agent.agentId);
    assert.equal(res.body.capacity, 2);
    assert.equal(res.body.allocated, 0);
    assert.deepEqual(res.body.sandboxes, []);
    assert.ok(res.body.images.includes(TEST_IMAGE), `status should list ${TEST_IMAGE}`);
  });

  it("afterwards: no log file, and no container of this agent but its shim anchor", async () => {
    assert.deepEqual(await readdir(agent.logDir), []);
    const containers = await new ContainerRuntime(conn).list({ [Labels.Agent]: agent.agentId });
    assert.deepEqual(
      containers.map((c) => c.id),
      [anchorContainerId(agent.agentId)],
    );
  });

  // These two got as far as containerd (image lookup; container, snapshot and task) before failing.
  for (const id of [NO_IMAGE_ID, NO_COMMAND_ID]) {
    it(`afterwards: nothing of the failed create ${id} is left in containerd`, async () => {
      assert.deepEqual(await leftoversOf(conn, id), nothingLeft);
    });
  }

  it("afterwards: the agent is alive and healthy, and logged no crash", async () => {
    assert.doesNotThrow(() => process.kill(agent.pid, 0), "agent process should still run");
    const res = await fetch(`${agent.url}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok" });
    assert.doesNotMatch(agent.output(), /uncaught exception|unhandled rejection|request failed/);
  });
});

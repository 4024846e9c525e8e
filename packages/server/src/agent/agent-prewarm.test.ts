// Prewarmed sandboxes through a real fsb-agent process on the real test containerd: PUT the templates,
// take one with a matching create, refill, re-adopt after a restart, and leave nothing behind.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Labels, managedByValue, prewarmKey } from "@fast-sandbox/api";
import {
  type AgentProcess,
  freePort,
  removeLogDir,
  startAgentProcess,
  tempLogDir,
} from "../../../../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_NAMESPACE } from "../../../../test/harness/constants.ts";
import { testConnection } from "../../../../test/harness/containerd.ts";
import { eventually, leftoversOf, nothingLeft, processRuns } from "../../../../test/harness/leftovers.ts";
import type { ContainerdConnection } from "../containerd/connection.ts";
import { ContainerRuntime, type ContainerStatus } from "../containerd/container-runtime.ts";

/** Prewarm status as the agent reports it. */
interface TemplateStatus {
  key: string;
  image: string;
  count: number;
  ready: number;
  error?: string;
}

const ECHO = {
  image: "busybox",
  command: ["sh", "-c"],
  args: ["echo from-prewarm $GREETING; exec sleep 600"],
  env: { GREETING: "hi" },
};
const ECHO_KEY = prewarmKey(ECHO);

/** Helpers bound to one agent process. */
function client(getAgent: () => AgentProcess, conn: ContainerdConnection) {
  const runtime = new ContainerRuntime(conn);
  const agent = () => getAgent();
  let seq = 0;
  const self = {
    put: (templates: unknown[]) => agent().request("PUT", "/api/v1/agent/prewarm", { templates }),
    status: async () => {
      const res = await agent().request("GET", "/api/v1/agent/status");
      assert.equal(res.status, 200);
      return res.body as {
        sandboxes: Array<Record<string, any>>;
        prewarm: { limit: number; templates: TemplateStatus[] };
        allocated: number;
      };
    },
    template: async (key: string) => (await self.status()).prewarm.templates.find((t) => t.key === key),
    waitReady: async (key: string, ready: number) => {
      const t = await eventually(
        () => self.template(key),
        (t) => t?.ready === ready,
      );
      assert.equal(t?.ready, ready, `template ${key}: ${JSON.stringify(t)}\n${agent().output()}`);
      return t!;
    },
    /** This agent's prewarmed containers in containerd, optionally of one key. */
    warm: (key?: string): Promise<ContainerStatus[]> =>
      runtime.list({
        [Labels.ManagedBy]: managedByValue,
        [Labels.Agent]: agent().agentId,
        [Labels.Prewarm]: "true",
        ...(key ? { [Labels.PrewarmKey]: key } : {}),
      }),
    create: (extra: Record<string, unknown> = {}, template: Record<string, unknown> = ECHO) => {
      seq += 1;
      const sandboxId = `${agent().agentId}-p${seq}`;
      return {
        sandboxId,
        res: agent().request("POST", "/api/v1/agent/create", {
          sandbox: { sandboxId, name: `pbox${seq}`, ...template, ...extra },
        }),
      };
    },
    remove: (sandboxId: string, extra: Record<string, unknown> = {}) =>
      agent().request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 0, ...extra }),
    logs: async (sandboxId: string) => {
      const res = await agent().request("GET", `/api/v1/agent/logs?sandboxId=${sandboxId}`);
      return { status: res.status, text: String(res.body) };
    },
  };
  return self;
}

describe("agent prewarm", () => {
  let conn: ContainerdConnection;
  let agent: AgentProcess;
  let c: ReturnType<typeof client>;
  const seen = new Set<string>();

  before(async () => {
    conn = await testConnection();
    agent = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      capacity: 5,
      extraArgs: ["--max-prewarm", "4"],
    });
    c = client(() => agent, conn);
  });
  after(async () => {
    await c.put([]);
    for (const s of (await c.status()).sandboxes) await c.remove(s.sandboxId);
    await eventually(
      () => c.warm(),
      (w) => w.length === 0,
    );
    await agent.stop();
    await removeLogDir(agent.logDir);
    conn.close();
  });

  it("keeps count containers per template created but not started", async () => {
    const put = await c.put([{ ...ECHO, count: 2 }]);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.success, true);
    assert.equal(put.body.prewarm.limit, 4);
    assert.deepEqual(
      put.body.prewarm.templates.map((t: TemplateStatus) => [t.key, t.image, t.count]),
      [[ECHO_KEY, TEST_IMAGE, 2]],
    );
    await c.waitReady(ECHO_KEY, 2);
    const warm = await c.warm(ECHO_KEY);
    assert.equal(warm.length, 2);
    for (const w of warm) {
      seen.add(w.id);
      assert.match(w.id, new RegExp(`^pw-${ECHO_KEY.slice(0, 8)}-[0-9a-f]{8}$`));
      assert.equal(w.task.state, "created", "a prewarmed task must wait in runc create, not run");
      assert.equal(w.labels[Labels.ContainerId], w.id);
    }
    // Prewarmed containers take no slot.
    assert.equal((await c.status()).allocated, 0);
  });

  it("serves a matching create from a prewarmed container, which runs as the sandbox, then refills", async () => {
    await c.waitReady(ECHO_KEY, 2);
    // The image spelled otherwise and env in another order still match.
    const { sandboxId, res } = c.create({ exposedPorts: [18181] }, { ...ECHO, image: TEST_IMAGE });
    const created = await res;
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.prewarmed, true);
    assert.equal(created.body.sandboxId, sandboxId);
    assert.equal(created.body.phase, "Running");
    assert.deepEqual(created.body.endpoints, ["127.0.0.1:18181"]);
    const containerId = created.body.containerId as string;
    assert.ok(seen.has(containerId), `${containerId} is not one of the prewarmed containers`);
    assert.ok(processRuns(created.body.pid));

    const live = (await c.status()).sandboxes.find((s) => s.sandboxId === sandboxId);
    assert.equal(live?.phase, "Running");
    assert.equal(live?.taskState, "running");
    assert.equal(live?.containerId, containerId);
    const log = await eventually(
      () => c.logs(sandboxId),
      (l) => l.text.includes("from-prewarm hi"),
    );
    assert.match(log.text, /from-prewarm hi/);

    // Relabelled as the sandbox: its id, its name, no prewarm label, its own container id kept.
    const labels = (await new ContainerRuntime(conn).inspect(containerId)).labels;
    assert.equal(labels[Labels.SandboxId], sandboxId);
    assert.equal(labels[Labels.Name], created.body.name);
    assert.equal(labels[Labels.Ports], "18181");
    assert.equal(labels[Labels.ContainerId], containerId);
    assert.equal(labels[Labels.Prewarm], undefined);
    assert.equal((await c.status()).allocated, 1);

    // Refilled to count in the background, with a new container.
    await c.waitReady(ECHO_KEY, 2);
    const refilled = await c.warm(ECHO_KEY);
    assert.ok(refilled.every((w) => w.id !== containerId));
    for (const w of refilled) seen.add(w.id);

    // Deleting it removes container, task, snapshot and log, and frees the slot.
    const logPath = `${agent.logDir}/${containerId}.log`;
    assert.ok(existsSync(logPath));
    assert.equal((await c.remove(sandboxId)).status, 200);
    assert.deepEqual(await leftoversOf(conn, containerId), nothingLeft);
    assert.equal(existsSync(logPath), false);
    assert.equal((await c.status()).allocated, 0);
    assert.equal((await c.logs(sandboxId)).status, 404);
  });

  it("takes the normal path for a create that differs from every template", async () => {
    await c.waitReady(ECHO_KEY, 2);
    const variants: Array<[string, Record<string, unknown>]> = [
      ["other args", { args: ["echo other; exec sleep 600"] }],
      ["a workingDir", { workingDir: "/" }],
      ["resources", { resources: { pids: 64 } }],
    ];
    for (const [what, extra] of variants) {
      const { sandboxId, res } = c.create(extra);
      const created = await res;
      assert.equal(created.status, 200, `${what}: ${JSON.stringify(created.body)}`);
      assert.equal(created.body.prewarmed, false, what);
      assert.equal(created.body.containerId, sandboxId, what);
      assert.equal((await c.remove(sandboxId)).status, 200);
      assert.deepEqual(await leftoversOf(conn, sandboxId), nothingLeft);
    }
    assert.equal((await c.template(ECHO_KEY))?.ready, 2, "a non-matching create used a prewarmed container");
  });

  it("hands each of concurrent matching creates its own container, the rest the normal path", async () => {
    await c.waitReady(ECHO_KEY, 2);
    const made = [c.create(), c.create(), c.create()];
    const results = await Promise.all(made.map((m) => m.res));
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(results.map((r) => r.body.prewarmed).sort(), [false, true, true]);
    assert.equal(new Set(results.map((r) => r.body.containerId)).size, 3);
    for (const m of made) {
      await eventually(
        () => c.logs(m.sandboxId),
        (l) => l.text.includes("from-prewarm hi"),
      );
      assert.equal((await c.remove(m.sandboxId)).status, 200);
    }
    for (const r of results) assert.deepEqual(await leftoversOf(conn, r.body.containerId), nothingLeft);
    await c.waitReady(ECHO_KEY, 2);
  });

  it("keeps a taken sandbox's log under its own name after a delete with keepLog", async () => {
    await c.waitReady(ECHO_KEY, 2);
    const { sandboxId, res } = c.create();
    const created = await res;
    assert.equal(created.body.prewarmed, true);
    await eventually(
      () => c.logs(sandboxId),
      (l) => l.text.includes("from-prewarm hi"),
    );
    assert.equal((await c.remove(sandboxId, { keepLog: true })).status, 200);
    assert.deepEqual(await leftoversOf(conn, created.body.containerId), nothingLeft);
    assert.equal(existsSync(`${agent.logDir}/${created.body.containerId}.log`), false);
    assert.ok(existsSync(`${agent.logDir}/${sandboxId}.log`));
    assert.match((await c.logs(sandboxId)).text, /from-prewarm hi/);
    assert.equal((await c.remove(sandboxId)).status, 200);
    assert.equal((await c.logs(sandboxId)).status, 404);
  });

  it("replaces a prewarmed container whose task died", async () => {
    await c.waitReady(ECHO_KEY, 2);
    const [victim] = await c.warm(ECHO_KEY);
    assert.ok(victim && victim.task.pid > 0);
    process.kill(victim.task.pid, "SIGKILL");
    const replaced = await eventually(
      () => c.warm(ECHO_KEY),
      (w) => w.length === 2 && w.every((x) => x.id !== victim.id && x.task.state === "created"),
    );
    assert.ok(
      replaced.every((x) => x.id !== victim.id),
      `still there: ${replaced.map((x) => `${x.id}:${x.task.state}`)}`,
    );
    assert.deepEqual(await leftoversOf(conn, victim.id), nothingLeft);
    await c.waitReady(ECHO_KEY, 2);
  });

  it("replaces the whole set on PUT: old templates go, new ones come", async () => {
    const old = (await c.warm(ECHO_KEY)).map((w) => w.id);
    const sleeper = { image: "busybox", command: ["sleep", "600"] };
    const key = prewarmKey(sleeper);
    const put = await c.put([{ ...sleeper, count: 1 }]);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await c.waitReady(key, 1);
    await eventually(
      () => c.warm(ECHO_KEY),
      (w) => w.length === 0,
    );
    for (const id of old) assert.deepEqual(await leftoversOf(conn, id), nothingLeft);
    for (const id of old) assert.equal(existsSync(`${agent.logDir}/${id}.log`), false);
    assert.deepEqual(
      (await c.status()).prewarm.templates.map((t) => [t.key, t.count, t.ready]),
      [[key, 1, 1]],
    );
    // Lowering a count trims; the same set again changes nothing.
    assert.equal((await c.put([{ ...sleeper, count: 0 }])).status, 200);
    await c.waitReady(key, 0);
    const trimmed = await eventually(
      () => c.warm(key),
      (w) => w.length === 0,
    );
    assert.equal(trimmed.length, 0);
  });

  it("reports a template whose image is not on the node with ready 0 and an error", async () => {
    const absent = { image: "docker.io/library/absent:1.0", count: 1 };
    const put = await c.put([absent]);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const key = prewarmKey(absent);
    const t = await eventually(
      () => c.template(key),
      (t) => t?.error !== undefined,
    );
    assert.equal(t?.ready, 0);
    assert.match(t?.error ?? "", /not on this node/);
    assert.equal((await c.warm()).length, 0);
  });

  it("refuses bad templates with INVALID_ARGUMENT naming the field, and changes nothing", async () => {
    assert.equal((await c.put([{ ...ECHO, count: 1 }])).status, 200);
    const cases: Array<[string, unknown, string]> = [
      [
        "counts above --max-prewarm",
        [
          { ...ECHO, count: 3 },
          { image: "busybox", count: 2 },
        ],
        "templates",
      ],
      ["count 21", [{ ...ECHO, count: 21 }], "templates[0].count"],
      ["count -1", [{ ...ECHO, count: -1 }], "templates[0].count"],
      ["a bad image", [{ image: "Bad Image", count: 1 }], "templates[0].image"],
      ["an unknown field", [{ ...ECHO, count: 1, workingDir: "/" }], "templates[0].workingDir"],
      ["a bad env name", [{ ...ECHO, env: { "1X": "y" }, count: 1 }], "templates[0].env.1X"],
      [
        "a duplicate",
        [
          { ...ECHO, count: 1 },
          { ...ECHO, image: TEST_IMAGE, count: 1 },
        ],
        "templates[1]",
      ],
    ];
    for (const [what, templates, field] of cases) {
      const res = await c.put(templates as unknown[]);
      assert.equal(res.status, 400, what);
      assert.equal(res.body.error.code, "INVALID_ARGUMENT", what);
      assert.equal(res.body.error.field, field, what);
    }
    const unauthenticated = await agent.request(
      "PUT",
      "/api/v1/agent/prewarm",
      { templates: [] },
      {
        authorization: "Bearer wrong",
      },
    );
    assert.equal(unauthenticated.status, 401);
    const wrongMethod = await agent.request("POST", "/api/v1/agent/prewarm", { templates: [] });
    assert.equal(wrongMethod.status, 405);
    // The set in force is still the last good one.
    await c.waitReady(ECHO_KEY, 1);
    assert.deepEqual(
      (await c.status()).prewarm.templates.map((t) => [t.key, t.count]),
      [[ECHO_KEY, 1]],
    );
  });

  it("reports prewarm metrics with bounded labels", async () => {
    const text = String((await agent.request("GET", "/metrics")).body);
    assert.match(text, /^fsb_agent_prewarm_ready 1$/m);
    assert.match(text, /^fsb_agent_prewarm_takes_total [1-9]\d*$/m);
    assert.match(text, /^fsb_agent_prewarm_misses_total [1-9]\d*$/m);
    assert.match(text, /^fsb_agent_prewarm_failures_total [1-9]\d*$/m);
  });

  it("removes every prewarmed container, with its snapshot and log, on PUT []", async () => {
    const warm = await c.warm();
    const before = warm.map((w) => w.id);
    assert.ok(before.length > 0);
    const put = await c.put([]);
    assert.equal(put.status, 200);
    await eventually(
      () => c.warm(),
      (w) => w.length === 0,
    );
    for (const id of [...seen, ...before]) {
      assert.deepEqual(await leftoversOf(conn, id), nothingLeft);
      assert.equal(existsSync(`${agent.logDir}/${id}.log`), false);
    }
    assert.deepEqual((await c.status()).prewarm.templates, []);
    for (const w of warm) {
      const runs = await eventually(
        () => processRuns(w.task.pid),
        (r) => !r,
      );
      assert.equal(runs, false, `the waiting process of ${w.id} outlived its container`);
    }
  });
});

describe("agent prewarm across restarts", () => {
  let conn: ContainerdConnection;
  let logDir: string;
  let port: number;
  const agentId = `pwrestart-${process.pid}`;
  let agent: AgentProcess | undefined;
  let c: ReturnType<typeof client>;
  const start = async () => {
    agent = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      agentId,
      logDir,
      port,
    });
    return agent;
  };

  before(async () => {
    conn = await testConnection();
    logDir = await tempLogDir();
    port = await freePort();
    c = client(() => agent!, conn);
  });
  after(async () => {
    if (!agent) await start();
    await c.put([]);
    for (const s of (await c.status()).sandboxes) await c.remove(s.sandboxId);
    await eventually(
      () => c.warm(),
      (w) => w.length === 0,
    );
    await agent?.stop();
    await removeLogDir(logDir);
    conn.close();
  });

  it("re-adopts prewarmed and taken containers after kill -9 and after a graceful stop", async () => {
    await start();
    assert.equal((await c.put([{ ...ECHO, count: 2 }])).status, 200);
    await c.waitReady(ECHO_KEY, 2);
    const { sandboxId, res } = c.create();
    const taken = await res;
    assert.equal(taken.body.prewarmed, true);
    await c.waitReady(ECHO_KEY, 2);
    const warmBefore = (await c.warm(ECHO_KEY)).map((w) => w.id).sort();

    await agent!.kill9();
    agent = undefined;
    assert.ok(processRuns(taken.body.pid), "the taken sandbox died with the agent");
    await start();

    // The taken container is the sandbox again, under its sandbox id.
    const st = await c.status();
    const sandbox = st.sandboxes.find((s) => s.sandboxId === sandboxId);
    assert.equal(sandbox?.phase, "Running");
    assert.equal(sandbox?.containerId, taken.body.containerId);
    assert.equal(sandbox?.pid, taken.body.pid);
    assert.equal(st.allocated, 1);
    assert.match((await c.logs(sandboxId)).text, /from-prewarm hi/);
    // A repeated create answers the same sandbox, still known to be prewarmed.
    const again = await agent!.request("POST", "/api/v1/agent/create", {
      sandbox: { sandboxId, name: taken.body.name, ...ECHO },
    });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.prewarmed, true);
    assert.equal(again.body.containerId, taken.body.containerId);
    // The prewarmed ones are kept and reported, with count 0 until the controller pushes again.
    assert.deepEqual(
      st.prewarm.templates.map((t) => [t.key, t.count, t.ready]),
      [[ECHO_KEY, 0, 2]],
    );
    assert.deepEqual((await c.warm(ECHO_KEY)).map((w) => w.id).sort(), warmBefore);

    // An adopted prewarmed container serves a create before any push.
    const second = c.create();
    const secondRes = await second.res;
    assert.equal(secondRes.body.prewarmed, true);
    assert.ok(warmBefore.includes(secondRes.body.containerId));
    await c.waitReady(ECHO_KEY, 1);

    // A graceful stop leaves them too; the pushed set then refills.
    await agent!.stop();
    agent = undefined;
    await start();
    assert.equal((await c.template(ECHO_KEY))?.ready, 1);
    assert.equal((await c.status()).allocated, 2);
    assert.equal((await c.put([{ ...ECHO, count: 2 }])).status, 200);
    await c.waitReady(ECHO_KEY, 2);

    // Deleting an adopted taken sandbox removes its container and log.
    assert.equal((await c.remove(sandboxId)).status, 200);
    assert.deepEqual(await leftoversOf(conn, taken.body.containerId), nothingLeft);
    assert.equal(existsSync(`${logDir}/${taken.body.containerId}.log`), false);
    assert.equal((await c.remove(second.sandboxId)).status, 200);
    assert.deepEqual(await leftoversOf(conn, secondRes.body.containerId), nothingLeft);
  });

  it("removes adopted prewarmed containers that a new set leaves out", async () => {
    const current = agent ?? (await start());
    assert.ok(current);
    assert.equal((await c.put([{ ...ECHO, count: 1 }])).status, 200);
    await c.waitReady(ECHO_KEY, 1);
    // Ready drops when a removal starts; wait for the container itself to be gone.
    await eventually(
      () => c.warm(ECHO_KEY),
      (w) => w.length === 1,
    );
    await agent!.kill9();
    agent = undefined;
    await start();
    assert.equal((await c.template(ECHO_KEY))?.ready, 1);
    const other = { image: "busybox", command: ["sleep", "601"], count: 1 };
    assert.equal((await c.put([other])).status, 200);
    await c.waitReady(prewarmKey(other), 1);
    await eventually(
      () => c.warm(ECHO_KEY),
      (w) => w.length === 0,
    );
    assert.equal((await c.warm(ECHO_KEY)).length, 0);
  });
});

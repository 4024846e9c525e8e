// `fsb-agent --runtime gvisor` on the real test containerd: sandboxes really run under gVisor (runsc
// behind the runc v2 shim, through scripts/runsc-wrapper.sh, the agent's default --runsc-binary).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { anchorContainerId } from "@fast-sandbox/api";
import {
  type AgentProcess,
  removeLogDir,
  startAgentProcess,
} from "../../../../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_NAMESPACE } from "../../../../test/harness/constants.ts";
import { testConnection } from "../../../../test/harness/containerd.ts";
import {
  eventually,
  leftoversOf,
  nothingLeft,
  parentPid,
  processRuns,
} from "../../../../test/harness/leftovers.ts";
import type { ContainerdConnection } from "../containerd/connection.ts";
import { DEFAULT_RUNSC_BINARY } from "./agent-config.ts";

let agent: AgentProcess;
let conn: ContainerdConnection;
let seq = 0;

function sandbox(command: string[]) {
  seq += 1;
  const sandboxId = `${agent.agentId}-g${seq}`;
  return { sandboxId, body: { sandbox: { sandboxId, name: `gbox${seq}`, image: TEST_IMAGE, command } } };
}

async function status(sandboxId: string) {
  const res = await agent.request("GET", "/api/v1/agent/status");
  assert.equal(res.status, 200);
  return (res.body.sandboxes as Array<Record<string, any>>).find((s) => s.sandboxId === sandboxId);
}

async function logs(sandboxId: string): Promise<string> {
  const res = await agent.request("GET", `/api/v1/agent/logs?sandboxId=${sandboxId}`);
  assert.equal(res.status, 200);
  return res.body as string;
}

/** The task bundle of a container in the test containerd's state directory. */
function bundleDir(containerId: string): string {
  const stateDir = path.join(path.dirname(conn.socketPath), "state");
  return path.join(stateDir, "io.containerd.runtime.v2.task", TEST_NAMESPACE, containerId);
}

/** The runc shim's record of the runtime options the container was created with. */
function shimOptions(sandboxId: string): Record<string, unknown> {
  const file = path.join(bundleDir(sandboxId), "options.json");
  assert.ok(existsSync(file), `${file} is missing: the shim got no runtime options and runs plain runc`);
  return JSON.parse(readFileSync(file, "utf8"));
}

/** The command line of a host process, NUL-separated arguments joined by spaces. */
function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
}

describe("agent with --runtime gvisor", () => {
  before(async () => {
    conn = await testConnection();
    // No --runsc-binary: the agent must find the project's wrapper by itself.
    agent = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      capacity: 5,
      extraArgs: ["--runtime", "gvisor"],
    });
  });
  after(async () => {
    await agent?.stop();
    if (agent) await removeLogDir(agent.logDir);
    conn?.close();
  });

  it("runs the sandbox on gVisor's kernel, not the host's, through the project's runsc wrapper", async () => {
    const { sandboxId, body } = sandbox([
      "sh",
      "-c",
      "echo release=$(uname -r); cat /proc/version; dmesg | head -n 3; exit 3",
    ]);
    const created = await agent.request("POST", "/api/v1/agent/create", body);
    assert.equal(created.status, 200, `${JSON.stringify(created.body)}\n${agent.output()}`);
    assert.equal(created.body.success, true);

    // The runc shim runs the wrapper, not runc.
    assert.equal(shimOptions(sandboxId).binary_name, DEFAULT_RUNSC_BINARY);

    const exited = await eventually(
      () => status(sandboxId),
      (s) => s?.phase === "Exited",
    );
    assert.equal(exited?.phase, "Exited");
    assert.equal(exited?.exitCode, 3, "gVisor must hand the process's exit code to the shim");

    const text = await logs(sandboxId);
    const release = /^release=(.*)$/m.exec(text)?.[1];
    assert.ok(release, `no uname output in the log:\n${text}`);
    assert.notEqual(release, os.release(), "the sandbox saw the host kernel: it did not run under gVisor");
    // runsc reports a fixed, fake kernel (4.4.0 in this version) and boots with its own dmesg.
    assert.match(release, /^4\.4\.0/);
    assert.match(text, /Linux version 4\.4\.0/);
    assert.match(text, /Starting gVisor/);

    assert.equal((await agent.request("POST", "/api/v1/agent/delete", { sandboxId })).status, 200);
    assert.deepEqual(await leftoversOf(conn, sandboxId), nothingLeft);
    assert.equal(await status(sandboxId), undefined);
  });

  it("refuses exposed ports outside isolated mode (a gVisor sandbox has loopback only) with 412 on sandbox.exposedPorts, making nothing", async () => {
    const { sandboxId, body } = sandbox(["sleep", "600"]);
    const refused = await agent.request("POST", "/api/v1/agent/create", {
      sandbox: { ...body.sandbox, exposedPorts: [8080] },
    });
    assert.equal(refused.status, 412, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, "FAILED_PRECONDITION");
    assert.equal(refused.body.error.field, "sandbox.exposedPorts");
    assert.match(
      refused.body.error.message,
      /gVisor sandboxes, which in network mode agent have loopback only/,
    );
    assert.deepEqual(await leftoversOf(conn, sandboxId), nothingLeft);
    assert.equal(await status(sandboxId), undefined);
  });

  it("keeps a long-running gVisor sandbox Running with working logs, and deletes it leaving nothing", async () => {
    const { sandboxId, body } = sandbox(["sh", "-c", "echo gvisor-up $(uname -r); exec sleep 600"]);
    const created = await agent.request("POST", "/api/v1/agent/create", body);
    assert.equal(created.status, 200, `${JSON.stringify(created.body)}\n${agent.output()}`);
    assert.equal(created.body.phase, "Running");
    const pid = created.body.pid as number;
    assert.ok(processRuns(pid));
    // On the host the task's process is gVisor's sandbox (the Sentry), not busybox's sleep.
    assert.match(cmdline(pid), /runsc.* boot /);

    const live = await status(sandboxId);
    assert.equal(live?.phase, "Running");
    assert.equal(live?.taskState, "running");
    const logText = await eventually(
      () => logs(sandboxId),
      (t) => t.includes("gvisor-up"),
    );
    assert.match(logText, /gvisor-up 4\.4\.0/);

    // Kill, wait and delete go through runsc (the wrapper) via the shim; the grace bounds the wait.
    const deleted = await agent.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 1 });
    assert.equal(deleted.status, 200);
    assert.deepEqual(await leftoversOf(conn, sandboxId), nothingLeft);
    assert.equal(
      await eventually(
        () => processRuns(pid),
        (runs) => !runs,
      ),
      false,
      "gVisor's sandbox process outlived the delete",
    );
    assert.equal(await status(sandboxId), undefined);
  });

  it("prewarms gVisor sandboxes the same way, and a matching create starts one under runsc", async () => {
    const template = {
      image: "busybox",
      command: ["sh", "-c", "echo warm-gvisor $(uname -r); exec sleep 600"],
    };
    const put = await agent.request("PUT", "/api/v1/agent/prewarm", {
      templates: [{ ...template, count: 1 }],
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const ready = await eventually(
      async () => (await agent.request("GET", "/api/v1/agent/status")).body.prewarm.templates[0],
      (t) => t?.ready === 1 || t?.error !== undefined,
      30_000,
    );
    assert.equal(ready?.ready, 1, `${JSON.stringify(ready)}\n${agent.output()}`);

    seq += 1;
    const sandboxId = `${agent.agentId}-g${seq}`;
    const created = await agent.request("POST", "/api/v1/agent/create", {
      sandbox: { sandboxId, name: `gbox${seq}`, ...template },
    });
    assert.equal(created.status, 200, `${JSON.stringify(created.body)}\n${agent.output()}`);
    assert.equal(created.body.prewarmed, true);
    const containerId = created.body.containerId as string;
    assert.equal(shimOptions(containerId).binary_name, DEFAULT_RUNSC_BINARY);
    assert.match(cmdline(created.body.pid), /runsc.* boot /);
    const text = await eventually(
      () => logs(sandboxId),
      (t) => t.includes("warm-gvisor"),
    );
    assert.match(text, /warm-gvisor 4\.4\.0/);

    assert.equal((await agent.request("PUT", "/api/v1/agent/prewarm", { templates: [] })).status, 200);
    const deleted = await agent.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 0 });
    assert.equal(deleted.status, 200);
    assert.deepEqual(await leftoversOf(conn, containerId), nothingLeft);
    const left = await eventually(
      async () => (await agent.request("GET", "/api/v1/agent/status")).body.prewarm.templates,
      (t) => t.length === 0,
    );
    assert.deepEqual(left, []);
  });

  it("keeps one shim across delete-then-create: the anchor runs under plain runc in the sandboxes' shim", async () => {
    const anchorId = anchorContainerId(agent.agentId);
    const anchor = await conn.tasks.get({ containerId: anchorId });
    assert.ok(anchor.process && processRuns(anchor.process.pid), "no running anchor");
    // Plain runc: the anchor runs no user code, and runsc would add a Sentry and a gofer per agent.
    assert.equal(shimOptions(anchorId).binary_name, undefined);
    assert.doesNotMatch(cmdline(anchor.process.pid), /runsc/);
    const shim = parentPid(anchor.process.pid);

    const shims: number[] = [];
    let previous: string | undefined;
    for (let round = 0; round < 3; round++) {
      const { sandboxId, body } = sandbox(["sleep", "600"]);
      const deleting = previous
        ? agent.request("POST", "/api/v1/agent/delete", { sandboxId: previous, gracePeriodSeconds: 0 })
        : undefined;
      const created = await agent.request("POST", "/api/v1/agent/create", body);
      assert.equal(created.status, 200, `${JSON.stringify(created.body)}\n${agent.output()}`);
      assert.equal((await deleting)?.status ?? 200, 200);
      assert.match(cmdline(created.body.pid), /runsc.* boot /);
      shims.push(parentPid(created.body.pid));
      previous = sandboxId;
    }
    const last = await agent.request("POST", "/api/v1/agent/delete", {
      sandboxId: previous,
      gracePeriodSeconds: 0,
    });
    assert.equal(last.status, 200);
    assert.deepEqual(shims, [shim, shim, shim], "a gVisor sandbox ran under another shim than the anchor's");
    assert.ok(processRuns(shim), "the shim exited with the last gVisor sandbox although the anchor runs");
  });
});

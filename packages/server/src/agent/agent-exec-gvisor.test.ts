// Exec under `fsb-agent --runtime gvisor` on the real test containerd: runsc runs the exec'd processes too.
import assert from "node:assert/strict";
import os from "node:os";
import { after, before, describe, it } from "node:test";
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
const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("exec with --runtime gvisor", () => {
  let sandboxId: string;
  before(async () => {
    conn = await testConnection();
    agent = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      capacity: 2,
      extraArgs: ["--runtime", "gvisor"],
    });
    sandboxId = `${agent.agentId}-gx`;
    const created = await agent.request("POST", "/api/v1/agent/create", {
      sandbox: { sandboxId, name: "gexec", image: TEST_IMAGE, command: ["sleep", "600"] },
    });
    assert.equal(created.status, 200, `${JSON.stringify(created.body)}\n${agent.output()}`);
  });
  after(async () => {
    await agent?.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 0 });
    await agent?.stop();
    if (agent) await removeLogDir(agent.logDir);
    conn?.close();
  });

  it("runs the process on gVisor's kernel with its exit code and streams apart", async () => {
    const r = await execToEnd(agent, { sandboxId, command: ["sh", "-c", "uname -r; echo err >&2; exit 3"] });
    assert.notEqual(r.stdout.trim(), os.release(), "the exec'd process saw the host kernel");
    assert.match(r.stdout, /^4\.4\.0/);
    assert.equal(r.stderr, "err\n");
    assert.deepEqual(r.exit, { exitCode: 3, signal: "", timedOut: false });
  });

  it("echoes stdin, looks a user up in /etc/passwd, and has /.fsb/busybox", async () => {
    const stream = await openStream(agent, "/api/v1/agent/exec", {
      sandboxId,
      command: ["sh", "-c", "cat; id -u; /.fsb/busybox echo tool"],
      stdin: true,
      user: "nobody",
    });
    assert.equal(stream.status, 200, JSON.stringify(stream.body));
    const { processId } = (await stream.events.next()).value.started;
    await agent.request("POST", "/api/v1/agent/processes/input", {
      sandboxId,
      processId,
      data: b64("via gvisor\n"),
    });
    await agent.request("POST", "/api/v1/agent/processes/close-input", { sandboxId, processId });
    const r = await collect(stream);
    assert.equal(r.stdout, "via gvisor\n65534\ntool\n");
    assert.equal(r.exit?.exitCode, 0);
  });

  it("runs a terminal's output through a terminal", async () => {
    // runsc (Debian's 20221219) hands the host's pty to the process as an imported host file: output
    // goes through the terminal's line discipline (\r\n), but in-sandbox ioctls on it fail, so `tty`
    // says "not a tty" and `stty size` fails there (docs/agent-api.md says so). Exit codes hold.
    const r = await execToEnd(agent, { sandboxId, command: ["sh", "-c", "echo one; echo two"], tty: true });
    assert.equal(r.stdout, "one\r\ntwo\r\n");
    assert.equal(r.stderr, "");
    assert.equal(r.exit?.exitCode, 0);
  });

  it("kills at the timeout", async () => {
    const r = await execToEnd(agent, { sandboxId, command: ["sleep", "30"], timeoutMs: 300 });
    assert.deepEqual(r.exit, { exitCode: 137, signal: "SIGKILL", timedOut: true });
  });

  it("answers FAILED_PRECONDITION with field command for a program not in the image", async () => {
    const r = await openStream(agent, "/api/v1/agent/exec", { sandboxId, command: ["no-such-program"] });
    assert.equal(r.status, 412, JSON.stringify(r.body));
    assert.equal(r.body.error.field, "command");
  });
});

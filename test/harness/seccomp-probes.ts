/**
 * Seccomp from inside real sandboxes: raw-syscall probes with the errno each gets with and without the
 * default profile, and one agent (with its sandbox, the probes uploaded to /tmp) per `--seccomp` value.
 */
import assert from "node:assert/strict";
import os from "node:os";
import { after, before } from "node:test";
import type { OciSpec } from "../../packages/server/src/containerd/oci-spec.ts";
import { specFromAny } from "../../packages/server/src/containerd/spec-any.ts";
import { agentFiles } from "./agent-files.ts";
import { type AgentProcess, removeLogDir, startAgentProcess } from "./agent-process.ts";
import { TEST_IMAGE, TEST_NAMESPACE } from "./constants.ts";
import { testConnection } from "./containerd.ts";
import { execToEnd } from "./exec-stream.ts";
import { Syscall, syscallProbe } from "./syscall-probe.ts";

export const EPERM = 1;
const EINVAL = 22;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x1000_0000n;
const KEYCTL_JOIN_SESSION_KEYRING = 1n;
const AF_VSOCK = 40n;
const SOCK_STREAM = 1n;
const ADDR_NO_RANDOMIZE = 0x0004_0000n;
const PTRACE_SEIZE = 0x4206n;

/** One raw syscall, and the errno it gets with the default profile and without a filter (0: it ran). */
export interface Probe {
  name: string;
  file: string;
  nr: number;
  args: bigint[];
  confined: number;
  unconfined: number;
}

export const PROBES: Probe[] = [
  {
    name: "keyctl (join a new session keyring)",
    file: "keyctl",
    nr: Syscall.keyctl,
    args: [KEYCTL_JOIN_SESSION_KEYRING, 0n],
    confined: EPERM,
    unconfined: 0,
  },
  {
    name: "unshare of a user namespace (needs no capability)",
    file: "unshare-user",
    nr: Syscall.unshare,
    args: [CLONE_NEWUSER],
    confined: EPERM,
    unconfined: 0,
  },
  {
    name: "clone3 (the profile says ENOSYS, so callers fall back to clone)",
    file: "clone3",
    nr: Syscall.clone3,
    args: [0n, 0n],
    confined: ENOSYS,
    unconfined: EINVAL,
  },
  {
    name: "personality(ADDR_NO_RANDOMIZE)",
    file: "personality",
    nr: Syscall.personality,
    args: [ADDR_NO_RANDOMIZE],
    confined: EPERM,
    unconfined: 0,
  },
];

/** Probes whose unconfined answer depends on the host's kernel config; only their refusal is checked. */
export const HOST_DEPENDENT_PROBES: Array<Omit<Probe, "unconfined">> = [
  {
    name: "io_uring_setup",
    file: "io-uring",
    nr: Syscall.ioUringSetup,
    args: [1n, 0n],
    confined: EPERM,
  },
  {
    name: "socket(AF_VSOCK)",
    file: "vsock",
    nr: Syscall.socket,
    args: [AF_VSOCK, SOCK_STREAM, 0n],
    confined: EPERM,
  },
];

/** The probes are x86-64 programs; elsewhere the tests that run them are skipped. */
export const isX64 = os.arch() === "x64";

/** The agent and sandbox of {@link sandboxUnder}, set once its `before` has run. */
export interface SeccompSandbox {
  agent: AgentProcess;
  sandboxId: string;
  /** The OCI spec containerd stores for a sandbox's container (the one runc was given). */
  storedSpec(sandboxId: string): Promise<OciSpec>;
}

/**
 * Registers before/after hooks for one agent with `--seccomp <seccomp>` (and `extraArgs`) and one
 * sandbox on it, with every probe at /tmp/<file> and /tmp/ptrace-init (PTRACE_SEIZE of pid 1).
 */
export function sandboxUnder(seccomp: string, extraArgs: string[] = []): SeccompSandbox {
  let conn: Awaited<ReturnType<typeof testConnection>> | undefined;
  const state: SeccompSandbox = {
    agent: undefined as unknown as AgentProcess,
    sandboxId: "",
    async storedSpec(sandboxId) {
      const { container } = await conn!.containers.get({ id: sandboxId });
      assert.ok(container?.spec, `no stored spec for ${sandboxId}`);
      return specFromAny(container.spec);
    },
  };
  before(async () => {
    conn = await testConnection();
    state.agent = await startAgentProcess({
      socketPath: conn.socketPath,
      namespace: TEST_NAMESPACE,
      capacity: 3,
      extraArgs: ["--seccomp", seccomp, "--max-prewarm", "1", ...extraArgs],
    });
    state.sandboxId = await create(state.agent, "sc1");
    if (!isX64) return;
    const files = agentFiles(state.agent, state.sandboxId);
    for (const p of [...PROBES, ...HOST_DEPENDENT_PROBES]) {
      const up = await files.upload(`/tmp/${p.file}`, syscallProbe(p.nr, p.args), { mode: "755" });
      assert.equal(up.status, 200, JSON.stringify(up.body));
    }
    const ptrace = await files.upload("/tmp/ptrace-init", syscallProbe(Syscall.ptrace, [PTRACE_SEIZE, 1n]), {
      mode: "755",
    });
    assert.equal(ptrace.status, 200);
  });
  after(async () => {
    const agent = state.agent;
    if (agent) {
      const listed = await agent.request("GET", "/api/v1/agent/status");
      for (const s of listed.body?.sandboxes ?? []) {
        await agent.request("POST", "/api/v1/agent/delete", {
          sandboxId: s.sandboxId,
          gracePeriodSeconds: 0,
        });
      }
      await agent.request("PUT", "/api/v1/agent/prewarm", { templates: [] });
      await agent.stop();
      await removeLogDir(agent.logDir);
    }
    conn?.close();
  });
  return state;
}

/** Creates a `sleep 600` sandbox named `suffix`; returns its id. */
async function create(agent: AgentProcess, suffix: string): Promise<string> {
  const sandboxId = `${agent.agentId}-${suffix}`;
  const res = await agent.request("POST", "/api/v1/agent/create", {
    sandbox: { sandboxId, name: suffix, image: TEST_IMAGE, command: ["sleep", "600"] },
  });
  assert.equal(res.status, 200, `${JSON.stringify(res.body)}\n${agent.output()}`);
  return sandboxId;
}

/** Runs `script` with sh -c in the sandbox, to its end. */
export async function sh(agent: AgentProcess, sandboxId: string, script: string, user?: string) {
  return execToEnd(agent, { sandboxId, command: ["sh", "-c", script], ...(user ? { user } : {}) });
}

/** The `Seccomp:` mode of a process in the sandbox (0 none, 2 filter), as its /proc/PID/status says. */
export async function seccompMode(agent: AgentProcess, sandboxId: string, pid: string): Promise<string> {
  const r = await sh(agent, sandboxId, `grep '^Seccomp:' /proc/${pid}/status`);
  return r.stdout.replace(/^Seccomp:\s*/, "").trim();
}

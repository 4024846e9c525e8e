// Seccomp from inside real sandboxes (fsb-agent on the real test containerd and runc): the default
// profile refuses what it must and lets ordinary programs run; unconfined and a profile file do as told.
import assert from "node:assert/strict";
import { rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { execToEnd } from "../../../../test/harness/exec-stream.ts";
import { eventually } from "../../../../test/harness/leftovers.ts";
import {
  EPERM,
  HOST_DEPENDENT_PROBES,
  isX64,
  PROBES,
  sandboxUnder,
  seccompMode,
  sh,
} from "../../../../test/harness/seccomp-probes.ts";
import { runtimeDefaultSeccomp } from "../containerd/seccomp-profile.ts";

describe("sandboxes under the default seccomp profile", () => {
  const s = sandboxUnder("runtime-default");

  it("run with the filter on, in the sandbox's process and in exec'd ones", async () => {
    assert.deepEqual((await s.storedSpec(s.sandboxId)).linux.seccomp, runtimeDefaultSeccomp());
    assert.equal(await seccompMode(s.agent, s.sandboxId, "1"), "2");
    assert.equal(await seccompMode(s.agent, s.sandboxId, "self"), "2");
  });

  it("still run ordinary programs", async () => {
    const r = await sh(
      s.agent,
      s.sandboxId,
      "echo hi; ls / | grep -c '^proc$'; mkdir -p /tmp/d && echo x > /tmp/d/f && cat /tmp/d/f; " +
        "(sleep 0; echo child) & wait; date +%Y >/dev/null; wc -c </etc/passwd >/dev/null; echo done",
    );
    assert.equal(r.stderr, "");
    assert.equal(r.stdout, "hi\n1\nx\nchild\ndone\n");
    assert.equal(r.exit?.exitCode, 0);
  });

  const refused: Array<{ name: string; script: string }> = [
    { name: "unshare -U (a user namespace)", script: "unshare -U true" },
    { name: "unshare -m (a mount namespace)", script: "unshare -m true" },
    { name: "unshare -n (a network namespace)", script: "unshare -n true" },
    { name: "mount of a tmpfs", script: "mount -t tmpfs none /mnt" },
    { name: "swapoff", script: "swapoff /dev/null" },
  ];
  for (const tc of refused) {
    it(`refuse ${tc.name} with "Operation not permitted"`, async () => {
      const r = await sh(s.agent, s.sandboxId, tc.script);
      assert.notEqual(r.exit?.exitCode, 0, r.stdout);
      // busybox's mount words EPERM its own way.
      assert.match(r.stderr, /Operation not permitted|permission denied \(are you root\?\)/);
    });
  }

  for (const p of [...PROBES, ...HOST_DEPENDENT_PROBES]) {
    it(`answer ${p.name} with errno ${p.confined}`, {
      skip: !isX64 && "the probes are x86-64 programs",
    }, async () => {
      const r = await execToEnd(s.agent, { sandboxId: s.sandboxId, command: [`/tmp/${p.file}`] });
      assert.equal(r.exit?.exitCode, p.confined, JSON.stringify(r));
    });
  }

  it("refuse ptrace of a process of another user (no CAP_SYS_PTRACE)", {
    skip: !isX64 && "x86-64 probe",
  }, async () => {
    const r = await execToEnd(s.agent, {
      sandboxId: s.sandboxId,
      command: ["/tmp/ptrace-init"],
      user: "nobody",
    });
    assert.equal(r.exit?.exitCode, EPERM, JSON.stringify(r));
  });

  it("put a sandbox taken from a prewarmed container under the same filter", async () => {
    const put = await s.agent.request("PUT", "/api/v1/agent/prewarm", {
      templates: [{ image: "busybox", command: ["sleep", "600"], count: 1 }],
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const ready = await eventually(
      () => s.agent.request("GET", "/api/v1/agent/status"),
      (res) => res.body.prewarm?.templates?.[0]?.ready === 1,
    );
    assert.equal(ready.body.prewarm.templates[0].ready, 1, JSON.stringify(ready.body.prewarm));
    const sandboxId = `${s.agent.agentId}-warm`;
    const res = await s.agent.request("POST", "/api/v1/agent/create", {
      sandbox: { sandboxId, name: "warm", image: "busybox", command: ["sleep", "600"] },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.prewarmed, true);
    assert.equal(await seccompMode(s.agent, sandboxId, "1"), "2");
    const r = await sh(s.agent, sandboxId, "unshare -U true");
    assert.match(r.stderr, /Operation not permitted/);
  });
});

describe("sandboxes with --seccomp unconfined", () => {
  const s = sandboxUnder("unconfined");

  it("run without a filter", async () => {
    assert.equal((await s.storedSpec(s.sandboxId)).linux.seccomp, undefined);
    assert.equal(await seccompMode(s.agent, s.sandboxId, "1"), "0");
  });

  it("let the syscalls through to the kernel's own checks", async () => {
    // A user namespace needs no capability, so only the filter stood in its way.
    assert.equal((await sh(s.agent, s.sandboxId, "unshare -U true")).exit?.exitCode, 0);
    // A mount namespace needs CAP_SYS_ADMIN, which sandboxes never hold: still refused.
    assert.match((await sh(s.agent, s.sandboxId, "unshare -m true")).stderr, /Operation not permitted/);
  });

  for (const p of PROBES) {
    it(`answer ${p.name} with errno ${p.unconfined}`, {
      skip: !isX64 && "the probes are x86-64 programs",
    }, async () => {
      const r = await execToEnd(s.agent, { sandboxId: s.sandboxId, command: [`/tmp/${p.file}`] });
      assert.equal(r.exit?.exitCode, p.unconfined, JSON.stringify(r));
    });
  }
});

describe("sandboxes with --seccomp PATH", () => {
  // The built-in profile without mkdir and mkdirat: a difference any shell can show.
  const profile = runtimeDefaultSeccomp();
  const [allowed] = profile.syscalls ?? [];
  if (allowed) allowed.names = allowed.names.filter((n) => n !== "mkdir" && n !== "mkdirat");
  const file = path.join(os.tmpdir(), `fsb-seccomp-${process.pid}.json`);
  before(() => writeFile(file, JSON.stringify(profile)));
  after(() => rm(file, { force: true }));
  const s = sandboxUnder(file);

  it("run under the file's profile", async () => {
    assert.deepEqual((await s.storedSpec(s.sandboxId)).linux.seccomp, profile);
    assert.equal(await seccompMode(s.agent, s.sandboxId, "1"), "2");
    const r = await sh(s.agent, s.sandboxId, "echo ok; mkdir /tmp/nope");
    assert.equal(r.stdout, "ok\n");
    assert.match(r.stderr, /Operation not permitted/);
  });
});

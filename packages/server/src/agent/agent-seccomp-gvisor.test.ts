// Seccomp and `fsb-agent --runtime gvisor` on the real test containerd: gVisor sandboxes get no
// linux.seccomp (see seccompOption), and gVisor's own kernel still refuses what reaches for the host.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { execToEnd } from "../../../../test/harness/exec-stream.ts";
import { EPERM, isX64, sandboxUnder, seccompMode, sh } from "../../../../test/harness/seccomp-probes.ts";

describe("gVisor sandboxes with --seccomp runtime-default", () => {
  const s = sandboxUnder("runtime-default", ["--runtime", "gvisor"]);

  it("are created without linux.seccomp, which runsc would apply only in part", async () => {
    assert.equal((await s.storedSpec(s.sandboxId)).linux.seccomp, undefined);
    assert.equal(await seccompMode(s.agent, s.sandboxId, "1"), "0");
  });

  it("still run ordinary programs", async () => {
    const r = await sh(s.agent, s.sandboxId, "echo hi; mkdir -p /tmp/d && echo x > /tmp/d/f && cat /tmp/d/f");
    assert.deepEqual([r.stdout, r.stderr, r.exit?.exitCode], ["hi\nx\n", "", 0]);
  });

  const refused: Array<{ name: string; script: string }> = [
    { name: "unshare -m (a mount namespace)", script: "unshare -m true" },
    { name: "unshare -n (a network namespace)", script: "unshare -n true" },
    { name: "mount of a tmpfs", script: "mount -t tmpfs none /mnt" },
  ];
  for (const tc of refused) {
    it(`have gVisor's kernel refuse ${tc.name} (no CAP_SYS_ADMIN)`, async () => {
      const r = await sh(s.agent, s.sandboxId, tc.script);
      assert.notEqual(r.exit?.exitCode, 0, r.stdout);
      assert.match(r.stderr, /Operation not permitted|permission denied \(are you root\?\)/);
    });
  }

  it("have gVisor's kernel refuse keyctl, which never reaches the host's keyrings", {
    skip: !isX64 && "x86-64 probe",
  }, async () => {
    const r = await execToEnd(s.agent, { sandboxId: s.sandboxId, command: ["/tmp/keyctl"] });
    assert.notEqual(r.exit?.exitCode, 0, JSON.stringify(r));
  });

  it("have gVisor's kernel refuse ptrace of another user's process", {
    skip: !isX64 && "x86-64 probe",
  }, async () => {
    const r = await execToEnd(s.agent, {
      sandboxId: s.sandboxId,
      command: ["/tmp/ptrace-init"],
      user: "nobody",
    });
    assert.equal(r.exit?.exitCode, EPERM, JSON.stringify(r));
  });
});

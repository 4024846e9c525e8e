// Unit tests of the RuntimeDefault seccomp profile: what it allows, what it refuses, and its shape.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { OciSeccomp, OciSeccompSyscall } from "./oci-spec.ts";
import { CLONE_NAMESPACE_FLAGS, ENOSYS, EPERM, runtimeDefaultSeccomp } from "./seccomp-profile.ts";
import { ociSeccompSchema } from "./seccomp-schema.ts";
import { ALLOWED_SYSCALLS, ARM_SYSCALLS, DENIED_SYSCALLS, X86_SYSCALLS } from "./seccomp-syscalls.ts";

const rulesFor = (profile: OciSeccomp, name: string): OciSeccompSyscall[] =>
  (profile.syscalls ?? []).filter((rule) => rule.names.includes(name));

/** Allowed whatever the arguments: an ALLOW rule for the name without conditions. */
const allowedOutright = (profile: OciSeccomp, name: string): boolean =>
  rulesFor(profile, name).some((r) => r.action === "SCMP_ACT_ALLOW" && (r.args ?? []).length === 0);

describe("runtimeDefaultSeccomp", () => {
  const x64 = runtimeDefaultSeccomp("x64");
  const arm64 = runtimeDefaultSeccomp("arm64");

  it("refuses whatever it does not allow with EPERM", () => {
    assert.equal(x64.defaultAction, "SCMP_ACT_ERRNO");
    assert.equal(x64.defaultErrnoRet, EPERM);
    assert.equal(EPERM, 1);
  });

  it("covers the 64-bit and i386 ABIs on x64 (not x32), and AArch64 and ARM on arm64", () => {
    assert.deepEqual(x64.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
    assert.deepEqual(arm64.architectures, ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
  });

  it("leaves the architecture list to runc elsewhere, with the common rules only", () => {
    const other = runtimeDefaultSeccomp("ppc64");
    assert.equal(other.architectures, undefined);
    assert.ok(allowedOutright(other, "read"));
    assert.ok(!allowedOutright(other, "arch_prctl") && !allowedOutright(other, "set_tls"));
  });

  it("allows each architecture's own syscalls only there", () => {
    for (const name of X86_SYSCALLS) {
      assert.ok(allowedOutright(x64, name), name);
      assert.ok(!allowedOutright(arm64, name), name);
    }
    for (const name of ARM_SYSCALLS) {
      assert.ok(allowedOutright(arm64, name), name);
      assert.ok(!allowedOutright(x64, name), name);
    }
  });

  const ordinary = ["read", "write", "openat", "execve", "mmap", "futex", "wait4", "getrandom", "chroot"];
  for (const name of ordinary) {
    it(`allows ${name}`, () => assert.ok(allowedOutright(x64, name)));
  }

  for (const name of DENIED_SYSCALLS) {
    it(`has no rule that lets ${name} through`, () => {
      for (const profile of [x64, arm64]) {
        assert.deepEqual(
          rulesFor(profile, name).filter((r) => r.action !== "SCMP_ACT_ERRNO"),
          [],
        );
      }
    });
  }

  it("names no syscall twice in its allow-list", () => {
    assert.equal(new Set(ALLOWED_SYSCALLS).size, ALLOWED_SYSCALLS.length);
    const overlap = DENIED_SYSCALLS.filter((name) => ALLOWED_SYSCALLS.includes(name));
    assert.deepEqual(overlap, []);
  });

  it("allows clone only without namespace flags (CLONE_NEWNS … CLONE_NEWNET)", () => {
    assert.deepEqual(rulesFor(x64, "clone"), [
      {
        names: ["clone"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
      },
    ]);
    assert.equal(CLONE_NAMESPACE_FLAGS, 0x7e02_0000);
  });

  it("answers clone3 with ENOSYS so that callers fall back to clone", () => {
    assert.deepEqual(rulesFor(x64, "clone3"), [
      { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
    ]);
  });

  it("allows sockets of every family but AF_VSOCK", () => {
    assert.deepEqual(rulesFor(x64, "socket"), [
      { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 40, op: "SCMP_CMP_NE" }] },
    ]);
  });

  it("allows the usual personalities only, each by its own rule", () => {
    const values = rulesFor(x64, "personality").map((r) => {
      assert.equal(r.action, "SCMP_ACT_ALLOW");
      assert.equal(r.args?.length, 1);
      assert.equal(r.args?.[0]?.op, "SCMP_CMP_EQ");
      return r.args?.[0]?.value;
    });
    assert.deepEqual(values, [0, 8, 0x20000, 0x20008, 0xffffffff]);
  });

  it("is a valid OCI profile by the schema a profile file must pass", () => {
    for (const profile of [x64, arm64]) assert.deepEqual(ociSeccompSchema.parse(profile), profile);
  });

  it("is a fresh object on every call", () => {
    const a = runtimeDefaultSeccomp("x64");
    a.syscalls?.[0]?.names.push("mount");
    assert.ok(!allowedOutright(runtimeDefaultSeccomp("x64"), "mount"));
  });
});

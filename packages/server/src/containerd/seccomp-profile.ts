// The default seccomp profile of every sandbox (RuntimeDefault): an allow-list, everything else EPERM.
import type { OciSeccomp, OciSeccompSyscall } from "./oci-spec.ts";
import { ALLOWED_SYSCALLS, ARM_SYSCALLS, X86_SYSCALLS } from "./seccomp-syscalls.ts";

/** Returned for every syscall the profile does not allow: what a missing capability would give. */
export const EPERM = 1;

/** Returned for clone3: "not implemented", so glibc and others fall back to clone, which has a rule. */
export const ENOSYS = 38;

/**
 * clone's flags that make new namespaces (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
 * NEWNET). A clone with any of them is refused; threads and forks never set them. A user namespace
 * needs no capability, so without this rule any process could make one and reach kernel code that
 * only root in a namespace can (the source of many container escapes).
 */
export const CLONE_NAMESPACE_FLAGS =
  0x0002_0000 | 0x0200_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000;

/** socket(2)'s AF_VSOCK: a channel to the hypervisor, which a sandbox has no business with. */
const AF_VSOCK = 40;

/**
 * personality(2) values a sandbox may set: plain Linux (0), 32-bit uname (PER_LINUX32, 8),
 * UNAME26 (0x20000) alone and with PER_LINUX32, and 0xffffffff, which only reads the current one.
 * Others (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE …) would weaken the process's memory protections.
 */
const ALLOWED_PERSONALITIES = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff] as const;

/** libseccomp's names for the architectures a filter covers on each Node.js `process.arch`. */
const ARCHITECTURES: Readonly<Record<string, readonly string[]>> = {
  // 64-bit plus i386, so 32-bit programs keep working as under Docker. Syscalls of an ABI left out
  // match no allow rule and are refused, never let through. x32 is left out, unlike Docker's profile:
  // most distributions' kernels have that ABI off, and every architecture in the list makes runc
  // compile the whole rule set once more at each container start (measured with bench/seccomp.ts:
  // about 5 ms for x86_64 alone, several ms more for each further ABI).
  x64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
  arm64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
};

const ARCH_SYSCALLS: Readonly<Record<string, readonly string[]>> = {
  x64: X86_SYSCALLS,
  arm64: ARM_SYSCALLS,
};

/**
 * The RuntimeDefault profile for `arch` (a Node.js `process.arch`). Only x64 and arm64 get their
 * own architecture list; on any other the filter covers the native ABI alone (runc's default).
 * The clone rule reads the flags from the first argument, which holds on every architecture we
 * run on (s390x alone swaps clone's first two arguments).
 */
export function runtimeDefaultSeccomp(arch: string = process.arch): OciSeccomp {
  const architectures = ARCHITECTURES[arch];
  const syscalls: OciSeccompSyscall[] = [
    { names: [...ALLOWED_SYSCALLS, ...(ARCH_SYSCALLS[arch] ?? [])], action: "SCMP_ACT_ALLOW" },
    {
      names: ["clone"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    },
    { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
    {
      names: ["socket"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: AF_VSOCK, op: "SCMP_CMP_NE" }],
    },
    // One rule per value: the conditions of one rule must all hold, so a list of values needs several.
    ...ALLOWED_PERSONALITIES.map(
      (value): OciSeccompSyscall => ({
        names: ["personality"],
        action: "SCMP_ACT_ALLOW",
        args: [{ index: 0, value, op: "SCMP_CMP_EQ" }],
      }),
    ),
  ];
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: EPERM,
    ...(architectures ? { architectures: [...architectures] } : {}),
    syscalls,
  };
}

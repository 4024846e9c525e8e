/** The shape of an OCI `linux.seccomp` object, for profiles read from files; unknown keys are errors. */
import { z } from "zod";
import type { OciSeccomp } from "./oci-spec.ts";

const action = z.enum([
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
]);

const operator = z.enum([
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
]);

/** An errno a rule returns; the kernel's are below 4096. */
const errno = z.number().int().min(0).max(4095);

/** Argument values are 64-bit in the kernel; JSON numbers are exact only up to 2^53, so no further. */
const argValue = z.number().int().min(0);

const syscallRule = z.strictObject({
  names: z.array(z.string().regex(/^[a-z0-9_]+$/, "must be a syscall name")).min(1),
  action,
  errnoRet: errno.optional(),
  args: z
    .array(
      z.strictObject({
        index: z.number().int().min(0).max(5),
        value: argValue,
        valueTwo: argValue.optional(),
        op: operator,
      }),
    )
    .optional(),
});

/**
 * An OCI seccomp profile as runc 1.1 reads it. Docker's own format (with `archMap`, `includes`,
 * `excludes`) is not one: its unknown keys fail here rather than being silently dropped.
 * SCMP_ACT_NOTIFY is refused because it needs a listener that fast-sandbox does not run.
 */
export const ociSeccompSchema = z.strictObject({
  defaultAction: action,
  defaultErrnoRet: errno.optional(),
  architectures: z
    .array(z.string().regex(/^SCMP_ARCH_[A-Z0-9_]+$/, "must be like SCMP_ARCH_X86_64"))
    .optional(),
  flags: z
    .array(z.string().regex(/^SECCOMP_FILTER_FLAG_[A-Z_]+$/, "must be like SECCOMP_FILTER_FLAG_LOG"))
    .optional(),
  syscalls: z.array(syscallRule).optional(),
}) satisfies z.ZodType<OciSeccomp>;

/** Validation of process requests (exec, input, resize, signal), shared by the Process API and the agent. */
import { z } from "zod";
import { envMapSchema } from "./env.ts";
import { invalidArgument } from "./errors.ts";
import { argListSchema, refineProcessArgs, workingDirSchema } from "./sandbox-validation.ts";
import { parseOrThrow } from "./zod-error.ts";

/** Most bytes one SendInput may carry: input is a stream of calls, and a call should stay small. */
export const processInputMaxBytes = 1024 * 1024;
/** A day: a command that should run longer belongs in its own sandbox, not in an exec. */
export const execTimeoutMaxMs = 86_400_000;
/** Terminal sizes are 16-bit in the kernel's winsize. */
export const ptySizeMax = 65_535;
/** Longest user spec (`name:group`); Linux user and group names are at most 32 characters each. */
export const userMaxLength = 128;
/** Longest process id an agent hands out; ids are short, this only bounds what a client may send. */
export const processIdMaxLength = 128;

/** Signals a process may be sent by name; any other is sent by its number. */
export const processSignals = [
  "SIGTERM",
  "SIGKILL",
  "SIGINT",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
] as const;
export type ProcessSignalName = (typeof processSignals)[number];

/** `1000`, `1000:1000`, `nobody`, `nobody:nogroup`: the forms runc and docker take. */
export const userSchema = z
  .string()
  .max(userMaxLength, `must be at most ${userMaxLength} characters`)
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/,
    "must be a uid, uid:gid, or a user (and group) name from the image, such as 1000, 1000:1000 or nobody:nogroup",
  );

export const processIdSchema = z
  .string()
  .min(1, "is required")
  .max(processIdMaxLength, `must be at most ${processIdMaxLength} characters`)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "must be a process id as Exec's started event gave it");

const ptySize = z.number().int().min(0).max(ptySizeMax, `must be at most ${ptySizeMax}`);

/** What runs, as the Process API and the agent take it (the agent's body adds the sandbox id). */
export const execSpecSchema = z
  .strictObject({
    command: argListSchema
      .min(1, "must name the program to run (at least one entry)")
      .refine((c) => c[0] !== "", { message: "the program must not be empty", path: [0] }),
    env: envMapSchema.optional(),
    cwd: workingDirSchema.optional(),
    user: userSchema.optional(),
    stdin: z.boolean().optional(),
    tty: z.boolean().optional(),
    cols: ptySize.optional(),
    rows: ptySize.optional(),
    timeoutMs: z
      .number()
      .int()
      .min(0)
      .max(execTimeoutMaxMs, `must be at most ${execTimeoutMaxMs} (a day)`)
      .optional(),
  })
  .superRefine(refineProcessArgs)
  .superRefine((spec, ctx) => {
    for (const key of ["cols", "rows"] as const) {
      if (spec[key] && !spec.tty) {
        ctx.addIssue({ code: "custom", path: [key], message: "applies only with tty" });
      }
    }
  });

export type ExecSpec = z.output<typeof execSpecSchema>;

/** Throws INVALID_ARGUMENT naming the field (`command[0]`, `env.FOO`, `cwd`) for a spec that breaks a rule. */
export function validateExecSpec(spec: unknown, prefix?: string): ExecSpec {
  return parseOrThrow(execSpecSchema, spec, prefix);
}

/** Throws INVALID_ARGUMENT naming the field for a process id that no agent could have handed out. */
export function validateProcessId(id: unknown, field = "processId"): string {
  return parseOrThrow(processIdSchema, id, field);
}

export const ptyResizeSchema = z.strictObject({
  cols: z.number().int().min(1, "must be 1-65535").max(ptySizeMax, "must be 1-65535"),
  rows: z.number().int().min(1, "must be 1-65535").max(ptySizeMax, "must be 1-65535"),
});

/** Throws INVALID_ARGUMENT naming `cols` or `rows` outside 1-65535. */
export function validatePtySize(size: { cols: number; rows: number }): { cols: number; rows: number } {
  return parseOrThrow(ptyResizeSchema, size);
}

/** Throws INVALID_ARGUMENT naming `field` for input over {@link processInputMaxBytes}. */
export function validateProcessInput(data: Uint8Array, field = "data"): Uint8Array {
  if (data.byteLength <= processInputMaxBytes) return data;
  throw invalidArgument(
    field,
    `must be at most 1 MiB (${processInputMaxBytes} bytes) per call (got ${data.byteLength}); send larger input in several calls`,
  );
}

/**
 * A signal as a name from {@link processSignals} or a decimal number 1-64 (`"9"`); the number form
 * comes back as a number. Throws INVALID_ARGUMENT naming `field` for anything else.
 */
export function parseProcessSignal(signal: string, field = "signal"): ProcessSignalName | number {
  if ((processSignals as readonly string[]).includes(signal)) return signal as ProcessSignalName;
  if (/^[1-9][0-9]?$/.test(signal) && Number(signal) <= 64) return Number(signal);
  throw invalidArgument(
    field,
    signal
      ? `${JSON.stringify(signal.slice(0, 32))} is not a signal: use ${processSignals.join(", ")}, or a number 1-64`
      : "is required",
  );
}

/** Validation and normalisation of a Sandbox spec and its labels, shared by every entry point. */
import { z } from "zod";
import { canonicalJson } from "./canonical-json.ts";
import { envListSchema } from "./env.ts";
import { invalidArgument } from "./errors.ts";
import { imageRefSchema, normalizeImageName } from "./image-ref.ts";
import { labelPrefix } from "./labels.ts";
import { dnsLabelSchema, dnsSubdomainSchema } from "./names.ts";
import { type SandboxNetworkSpec, sandboxNetworkSchema } from "./network-spec.ts";
import { exposedPortsSchema } from "./ports.ts";
import { cpuSchema, memorySchema, pidsSchema } from "./quantity.ts";
import {
  DEFAULT_POOL,
  DEFAULT_RECOVERY_TIMEOUT_SECONDS,
  type SandboxResources,
  type SandboxSpec,
} from "./sandbox-resource.ts";
import { parseOrThrow } from "./zod-error.ts";

/** A process argument list is bounded so a request cannot make a spec larger than runc accepts. */
export const maxArgs = 256;
export const maxArgBytes = 8 * 1024;
/**
 * Most bytes command and args may take together, each string with its NUL as execve(2) counts it:
 * with the environment's envMaxTotalBytes, half of Linux's 2 MiB default ARG_MAX.
 */
export const maxArgsTotalBytes = 256 * 1024;
/** Most labels an object may carry: Kubernetes sets no count, so this is ours, ample for selectors. */
export const labelsMaxEntries = 64;
/** Most bytes of label keys and values together (64 labels of the longest keys and values fit in 24 KiB). */
export const labelsMaxTotalBytes = 16 * 1024;
const maxPathBytes = 4096;
/** A day: a sandbox that cannot be recovered within it needs a person, not a retry. */
export const maxRecoveryTimeoutSeconds = 86_400;

export const argSchema = z
  .string()
  .refine((s) => !s.includes("\0"), "must not contain NUL")
  .refine((s) => Buffer.byteLength(s) <= maxArgBytes, `must be at most ${maxArgBytes} bytes`);
export const argListSchema = z.array(argSchema).max(maxArgs, `at most ${maxArgs} entries`);

export const workingDirSchema = z
  .string()
  .refine((s) => s.startsWith("/"), "must be an absolute path")
  .refine((s) => !s.includes("\0"), "must not contain NUL")
  .refine((s) => !s.split("/").includes(".."), "must not contain '..'")
  .refine((s) => Buffer.byteLength(s) <= maxPathBytes, `must be at most ${maxPathBytes} bytes`);

/** An RFC 3339 timestamp, as Kubernetes writes them. */
export const timestampSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, "must be an RFC 3339 time")
  .refine((s) => !Number.isNaN(Date.parse(s)), "must be a valid time");

/** Resources as users write them; validated, but kept as the strings they wrote. */
export const sandboxResourcesSchema = z.strictObject({
  cpu: z
    .string()
    .refine((s) => cpuSchema.safeParse(s).success, "must be a CPU quantity such as 500m or 2")
    .optional(),
  memory: z
    .string()
    .superRefine((s, ctx) => {
      const result = memorySchema.safeParse(s);
      if (!result.success)
        ctx.addIssue({ code: "custom", message: result.error.issues[0]?.message ?? "invalid" });
    })
    .optional(),
  pids: pidsSchema.optional(),
});

/**
 * Refuses a command and args that together exceed maxArgsTotalBytes, at the list that crosses the
 * limit (the command counts first, as it comes first in argv). For superRefine on any object with
 * optional `command` and `args` (a sandbox spec, a prewarm template, the agent's create).
 */
export function refineProcessArgs(
  value: { command?: readonly string[] | undefined; args?: readonly string[] | undefined },
  ctx: z.core.$RefinementCtx,
): void {
  let total = 0;
  for (const key of ["command", "args"] as const) {
    for (const arg of value[key] ?? []) total += Buffer.byteLength(arg) + 1;
    if (total > maxArgsTotalBytes) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `command and args together must take at most ${maxArgsTotalBytes / 1024} KiB (${maxArgsTotalBytes} bytes, each with its NUL) (got ${total} bytes so far)`,
      });
      return;
    }
  }
}

export const sandboxSpecSchema = z
  .strictObject({
    image: imageRefSchema,
    command: argListSchema.optional(),
    args: argListSchema.optional(),
    env: envListSchema.optional(),
    workingDir: workingDirSchema.optional(),
    exposedPorts: exposedPortsSchema.optional(),
    poolRef: dnsLabelSchema.optional(),
    consistencyMode: z.enum(["fast", "strong"]).optional(),
    failurePolicy: z.enum(["Manual", "AutoRecreate"]).optional(),
    recoveryTimeoutSeconds: z.number().int().min(1).max(maxRecoveryTimeoutSeconds).optional(),
    resetRevision: timestampSchema.optional(),
    expireTime: timestampSchema.optional(),
    resources: sandboxResourcesSchema.optional(),
    network: sandboxNetworkSchema.optional(),
  })
  .superRefine(refineProcessArgs);

const labelNamePattern = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

/** Whether `key` is a Kubernetes label or annotation key: `[prefix/]name`, the prefix a DNS subdomain. */
export function isQualifiedKey(key: string): boolean {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  return (
    labelNamePattern.test(name) && (prefix === undefined || dnsSubdomainSchema.safeParse(prefix).success)
  );
}

/** The count and size limits of a label map, whatever its keys; undefined when within them. */
export function labelLimitsProblem(labels: Readonly<Record<string, string>>): string | undefined {
  const entries = Object.entries(labels);
  if (entries.length > labelsMaxEntries) {
    return `must have at most ${labelsMaxEntries} labels (got ${entries.length})`;
  }
  let total = 0;
  for (const [key, value] of entries) total += Buffer.byteLength(key) + Buffer.byteLength(value);
  if (total > labelsMaxTotalBytes) {
    return `keys and values must take at most ${labelsMaxTotalBytes / 1024} KiB (${labelsMaxTotalBytes} bytes) in all (got ${total} bytes)`;
  }
  return undefined;
}

/** Refuses labels over {@link labelLimitsProblem}'s limits, naming the field (e.g. after an update merged them). */
export function validateLabelLimits(labels: Readonly<Record<string, string>>, field = "labels"): void {
  const problem = labelLimitsProblem(labels);
  if (problem !== undefined) throw invalidArgument(field, problem);
}

/** Kubernetes label rules: `[prefix/]name` keys and short values; our own prefix is reserved; at most 64. */
export const labelsSchema = z.record(z.string(), z.string()).superRefine((labels, ctx) => {
  const limits = labelLimitsProblem(labels);
  if (limits !== undefined) {
    ctx.addIssue({ code: "custom", message: limits });
    return;
  }
  for (const [key, value] of Object.entries(labels)) {
    if (!isQualifiedKey(key)) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message:
          "must be [prefix/]name: a name of up to 63 letters, digits, '-', '_' or '.', and a DNS prefix",
      });
    } else if (key.startsWith(labelPrefix)) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `the ${labelPrefix} prefix is reserved for Fast Sandbox`,
      });
    } else if (value !== "" && !labelNamePattern.test(value)) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message:
          "value must be empty or up to 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
      });
    }
  }
});

/** Validates a spec; INVALID_ARGUMENT names the field under `prefix` (e.g. `spec.exposedPorts[1]`). */
export function validateSandboxSpec(spec: unknown, prefix = "spec"): SandboxSpec {
  return parseOrThrow(sandboxSpecSchema, spec, prefix) as SandboxSpec;
}

/** Validates labels; INVALID_ARGUMENT names the key. */
export function validateLabels(labels: unknown, prefix = "labels"): Record<string, string> {
  return parseOrThrow(labelsSchema, labels, prefix);
}

/** The same spec with defaults filled, the image name normalised and empty lists dropped. */
export function normalizeSandboxSpec(spec: SandboxSpec): SandboxSpec {
  const out: SandboxSpec = {
    image: normalizeImageName(spec.image, "spec.image"),
    poolRef: spec.poolRef || DEFAULT_POOL,
    failurePolicy: spec.failurePolicy ?? "Manual",
    recoveryTimeoutSeconds: spec.recoveryTimeoutSeconds ?? DEFAULT_RECOVERY_TIMEOUT_SECONDS,
  };
  if (spec.command?.length) out.command = [...spec.command];
  if (spec.args?.length) out.args = [...spec.args];
  if (spec.env?.length) out.env = spec.env.map(({ name, value }) => ({ name, value }));
  if (spec.workingDir) out.workingDir = spec.workingDir;
  if (spec.exposedPorts?.length) out.exposedPorts = [...spec.exposedPorts];
  if (spec.consistencyMode) out.consistencyMode = spec.consistencyMode;
  if (spec.resetRevision) out.resetRevision = spec.resetRevision;
  if (spec.expireTime) out.expireTime = new Date(spec.expireTime).toISOString();
  const resources = normalizeResources(spec.resources);
  if (resources) out.resources = resources;
  if (spec.network?.mode || spec.network?.egress) out.network = normalizeNetwork(spec.network);
  return out;
}

/** The network settings with the egress defaults filled in, so equal settings compare equal. */
function normalizeNetwork(network: SandboxNetworkSpec): SandboxNetworkSpec {
  const out: SandboxNetworkSpec = {};
  if (network.mode) out.mode = network.mode;
  if (network.egress) {
    const { default: action = "allow", allow = [], deny = [] } = network.egress;
    out.egress = { default: action, allow: [...allow], deny: [...deny] };
  }
  return out;
}

/**
 * Whether two specs ask for the same sandbox, for idempotent creates. Fields that a retry
 * legitimately recomputes (a relative expiry, the consistency mode, a reset) do not count.
 */
export function sameSandboxSpec(a: SandboxSpec, b: SandboxSpec): boolean {
  const strip = (s: SandboxSpec) => {
    const { expireTime: _e, consistencyMode: _c, resetRevision: _r, ...rest } = normalizeSandboxSpec(s);
    return canonicalJson(rest);
  };
  return strip(a) === strip(b);
}

/**
 * Refuses an expire time at or before `nowMs`, naming the field: such a sandbox would start only
 * to be removed at once. No clock slack is allowed: the time is compared with the controller's
 * clock, which is the one that expires the sandbox, and a slack would only turn "refused" into
 * "created and expired at once" for a few more requests. The message gives the controller's time,
 * so a client whose clock runs behind sees why.
 *
 * Only the API checks this; a Sandbox object stored with a past expire time (kubectl apply) is
 * valid, and expires as soon as the controller sees it (docs/api.md, "Limits").
 */
export function validateFutureExpireTime(expireTime: string, nowMs: number, field = "expireTime"): void {
  const at = Date.parse(expireTime);
  if (Number.isNaN(at) || at > nowMs) return;
  throw invalidArgument(
    field,
    `must be in the future (${new Date(at).toISOString()} is not after the controller's time ${new Date(nowMs).toISOString()})`,
  );
}

/** Rejects a name that is not a DNS-1123 label, naming the field. */
export function validateSandboxName(name: unknown, field = "name"): string {
  if (!dnsLabelSchema.safeParse(name).success) {
    throw invalidArgument(
      field,
      `${JSON.stringify(name)} must be a DNS-1123 label (lowercase letters, digits, '-', at most 63)`,
    );
  }
  return name as string;
}

function normalizeResources(resources: SandboxResources | undefined): SandboxResources | undefined {
  if (!resources) return undefined;
  const out: SandboxResources = {};
  if (resources.cpu) out.cpu = resources.cpu;
  if (resources.memory) out.memory = resources.memory;
  if (resources.pids !== undefined) out.pids = resources.pids;
  return Object.keys(out).length ? out : undefined;
}

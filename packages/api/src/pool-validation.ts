/** Validation and defaults of a SandboxPool spec, shared by the API, the CLI and the pool controller. */

import { z } from "zod";
import { envListSchema } from "./env.ts";
import { invalidArgument } from "./errors.ts";
import { imageRefSchema, normalizeImageName } from "./image-ref.ts";
import { poolNetworkSchema } from "./network-spec.ts";
import type { SandboxPoolSpec } from "./sandbox-resource.ts";
import { argListSchema, refineProcessArgs } from "./sandbox-validation.ts";
import { parseOrThrow } from "./zod-error.ts";

/**
 * Defaults and bounds of a pool. The CRD schema (deploy/) states the same numbers; a test keeps the
 * two in step. Per-agent prewarm counts are small because every prewarmed container holds a
 * process and a snapshot on the node even while no one uses it.
 */
export const PoolDefaults = {
  poolMin: 1,
  poolMax: 10,
  bufferMin: 0,
  bufferMax: 10,
  maxSandboxesPerPod: 5,
  runtimeType: "container",
} as const;
export const PoolLimits = {
  maxAgents: 1000,
  maxBuffer: 10_000,
  maxSandboxesPerPod: 1000,
  maxPrewarmTemplates: 16,
  maxPrewarmCount: 20,
  /** Characters of a Localhost seccomp profile's path (a file name's usual limit). */
  maxLocalhostProfileLength: 255,
} as const;

const count = (max: number) => z.number().int().min(0).max(max);

export const poolCapacitySchema = z.strictObject({
  poolMin: count(PoolLimits.maxAgents).optional(),
  poolMax: z.number().int().min(1).max(PoolLimits.maxAgents).optional(),
  bufferMin: count(PoolLimits.maxBuffer).optional(),
  bufferMax: count(PoolLimits.maxBuffer).optional(),
});

export const prewarmTemplateSchema = z
  .strictObject({
    image: imageRefSchema,
    command: argListSchema.optional(),
    args: argListSchema.optional(),
    env: envListSchema.optional(),
    count: count(PoolLimits.maxPrewarmCount),
  })
  .superRefine(refineProcessArgs);

/**
 * A Localhost profile's path under the node's profile directory: plain names (letters, digits,
 * `.`, `_`, `-`, none starting with `.` or `-`) joined by `/`. It cannot climb out of that directory
 * (no `..`, no leading `/`), and it reaches the agent's command line as one safe argument.
 */
export const SECCOMP_LOCALHOST_PROFILE_PATTERN =
  "^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$";

/** A pool's `seccompProfile`; localhostProfile goes with type Localhost and only with it. */
export const seccompProfileSchema = z
  .strictObject({
    type: z.enum(["RuntimeDefault", "Unconfined", "Localhost"]),
    localhostProfile: z
      .string()
      .max(PoolLimits.maxLocalhostProfileLength)
      .regex(
        new RegExp(SECCOMP_LOCALHOST_PROFILE_PATTERN),
        "must be a relative path of plain names (letters, digits, . _ -) under the node's profile directory",
      )
      .optional(),
  })
  .superRefine((profile, ctx) => {
    if (profile.type === "Localhost" && profile.localhostProfile === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["localhostProfile"],
        message: "is required with type Localhost",
      });
    }
    if (profile.type !== "Localhost" && profile.localhostProfile !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["localhostProfile"],
        message: "is only allowed with type Localhost",
      });
    }
  });

export const poolSpecSchema = z.strictObject({
  capacity: poolCapacitySchema.optional(),
  maxSandboxesPerPod: z.number().int().min(1).max(PoolLimits.maxSandboxesPerPod).optional(),
  runtimeType: z.enum(["container", "gvisor"]).optional(),
  seccompProfile: seccompProfileSchema.optional(),
  network: poolNetworkSchema.optional(),
  agentTemplate: z.record(z.string(), z.unknown()).optional(),
  prewarm: z
    .array(prewarmTemplateSchema)
    .max(PoolLimits.maxPrewarmTemplates, `at most ${PoolLimits.maxPrewarmTemplates} templates`)
    .optional(),
});

/**
 * Validates a pool spec and fills its defaults; INVALID_ARGUMENT names the field under `prefix`.
 * The cross-field rules (min ≤ max) live here and, as CEL, in the CRD; API servers without CEL drop
 * those, so this is the check every path shares (a stored pool that fails it gets InvalidSpec).
 */
export function validatePoolSpec(spec: unknown, prefix = "spec"): SandboxPoolSpec {
  const parsed = parseOrThrow(poolSpecSchema, spec ?? {}, prefix);
  const capacity = {
    poolMin: parsed.capacity?.poolMin ?? PoolDefaults.poolMin,
    poolMax: parsed.capacity?.poolMax ?? PoolDefaults.poolMax,
    bufferMin: parsed.capacity?.bufferMin ?? PoolDefaults.bufferMin,
    bufferMax: parsed.capacity?.bufferMax ?? PoolDefaults.bufferMax,
  };
  if (capacity.poolMin > capacity.poolMax) {
    throw invalidArgument(
      `${prefix}.capacity.poolMin`,
      `${capacity.poolMin} is more than poolMax (${capacity.poolMax})`,
    );
  }
  if (capacity.bufferMin > capacity.bufferMax) {
    throw invalidArgument(
      `${prefix}.capacity.bufferMin`,
      `${capacity.bufferMin} is more than bufferMax (${capacity.bufferMax})`,
    );
  }
  const out: SandboxPoolSpec = {
    capacity,
    maxSandboxesPerPod: parsed.maxSandboxesPerPod ?? PoolDefaults.maxSandboxesPerPod,
    runtimeType: parsed.runtimeType ?? PoolDefaults.runtimeType,
  };
  if (parsed.seccompProfile) {
    const { type, localhostProfile } = parsed.seccompProfile;
    out.seccompProfile = localhostProfile === undefined ? { type } : { type, localhostProfile };
  }
  if (parsed.network) out.network = parsed.network;
  if (parsed.agentTemplate) out.agentTemplate = parsed.agentTemplate;
  if (parsed.prewarm?.length) {
    out.prewarm = parsed.prewarm.map((t, i) => {
      const template: NonNullable<SandboxPoolSpec["prewarm"]>[number] = {
        image: normalizeImageName(t.image, `${prefix}.prewarm[${i}].image`),
        count: t.count,
      };
      if (t.command?.length) template.command = [...t.command];
      if (t.args?.length) template.args = [...t.args];
      if (t.env?.length) template.env = t.env.map(({ name, value }) => ({ name, value }));
      return template;
    });
  }
  return out;
}

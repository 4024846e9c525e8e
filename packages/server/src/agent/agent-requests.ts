/** Wire schemas of the agent's HTTP API, and their translation into the agent's domain types. */
import {
  argListSchema,
  dnsLabelSchema,
  envMapSchema,
  exposedPortsSchema,
  imageRefSchema,
  normalizeImageName,
  parseOrThrow,
  resourcesSchema,
  sandboxIdSchema,
  workingDirSchema,
} from "@fast-sandbox/api";
import { z } from "zod";
import type { AgentSandboxSpec } from "./sandbox-spec.ts";

/** Kubernetes UIDs are UUIDs; standalone mode makes its own, of the same alphabet. */
const uidPattern = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
/** Longest grace period a caller may ask for; longer would hold a slot for too long. */
export const MAX_GRACE_PERIOD_SECONDS = 3600;

const sandboxSchema = z.strictObject({
  sandboxId: sandboxIdSchema,
  name: dnsLabelSchema,
  namespace: dnsLabelSchema.default("default"),
  uid: z.string().regex(uidPattern, "must be 1-64 letters, digits or '-'").optional(),
  pool: dnsLabelSchema.optional(),
  image: imageRefSchema,
  command: argListSchema.default([]),
  args: argListSchema.default([]),
  env: envMapSchema.default({}),
  workingDir: workingDirSchema.optional(),
  exposedPorts: exposedPortsSchema.default([]),
  resources: resourcesSchema.optional(),
});

const createBodySchema = z.strictObject({ sandbox: sandboxSchema });

const deleteBodySchema = z.strictObject({
  sandboxId: sandboxIdSchema,
  gracePeriodSeconds: z.number().int().min(0).max(MAX_GRACE_PERIOD_SECONDS).optional(),
  keepLog: z.boolean().optional(),
});

/** Parses `POST /api/v1/agent/create`; INVALID_ARGUMENT names the offending field. */
export function parseCreateRequest(body: unknown): AgentSandboxSpec {
  const { sandbox } = parseOrThrow(createBodySchema, body);
  return {
    sandboxId: sandbox.sandboxId,
    name: sandbox.name,
    namespace: sandbox.namespace,
    uid: sandbox.uid ?? "",
    pool: sandbox.pool,
    image: normalizeImageName(sandbox.image, "sandbox.image"),
    command: sandbox.command,
    args: sandbox.args,
    env: sandbox.env,
    workingDir: sandbox.workingDir,
    exposedPorts: sandbox.exposedPorts,
    resources: sandbox.resources ?? {},
  };
}

/** Parses `POST /api/v1/agent/delete`. */
export function parseDeleteRequest(body: unknown): {
  sandboxId: string;
  gracePeriodSeconds: number | undefined;
  keepLog: boolean;
} {
  const parsed = parseOrThrow(deleteBodySchema, body);
  return {
    sandboxId: parsed.sandboxId,
    gracePeriodSeconds: parsed.gracePeriodSeconds,
    keepLog: parsed.keepLog ?? false,
  };
}

/** Wire schemas of the agent's HTTP API, and their translation into the agent's domain types. */
import {
  argListSchema,
  dnsLabelSchema,
  envMapSchema,
  type execSpecSchema,
  exposedPortsSchema,
  imageRefSchema,
  invalidArgument,
  normalizeImageName,
  PoolLimits,
  parseOrThrow,
  prewarmKey,
  processIdSchema,
  ptyResizeSchema,
  refineProcessArgs,
  resourcesSchema,
  sandboxIdSchema,
  sandboxNetworkSchema,
  validateExecSpec,
  workingDirSchema,
} from "@fast-sandbox/api";
import { z } from "zod";
import type { ExecRequest } from "./exec-engine.ts";
import type { PrewarmTemplate } from "./prewarm-template.ts";
import type { AgentSandboxSpec } from "./sandbox-spec.ts";

/** Kubernetes UIDs are UUIDs; standalone mode makes its own, of the same alphabet. */
const uidPattern = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
/** Longest grace period a caller may ask for; longer would hold a slot for too long. */
export const MAX_GRACE_PERIOD_SECONDS = 3600;

const sandboxSchema = z
  .strictObject({
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
    network: sandboxNetworkSchema.optional(),
  })
  .superRefine(refineProcessArgs);

const createBodySchema = z.strictObject({ sandbox: sandboxSchema });

const deleteBodySchema = z.strictObject({
  sandboxId: sandboxIdSchema,
  gracePeriodSeconds: z.number().int().min(0).max(MAX_GRACE_PERIOD_SECONDS).optional(),
  keepLog: z.boolean().optional(),
});

const prewarmBodySchema = z.strictObject({
  templates: z
    .array(
      z
        .strictObject({
          image: imageRefSchema,
          command: argListSchema.default([]),
          args: argListSchema.default([]),
          env: envMapSchema.default({}),
          count: z.number().int().min(0).max(PoolLimits.maxPrewarmCount),
        })
        .superRefine(refineProcessArgs),
    )
    .max(PoolLimits.maxPrewarmTemplates, `at most ${PoolLimits.maxPrewarmTemplates} templates`),
});

/** A terminal's size when a request gives none, or gives 0 (the classic 80x24). */
export const DEFAULT_TTY_SIZE = { cols: 80, rows: 24 };
const base64Schema = z
  .string()
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64")
  .refine((s) => s.length % 4 === 0, "must be base64 (padded)");

/** The sandbox an exec body is about; the rest of the body is the Process API's exec spec. */
const execTargetSchema = z.object({ sandboxId: sandboxIdSchema });
const processRefSchema = z.strictObject({ sandboxId: sandboxIdSchema, processId: processIdSchema });
const inputBodySchema = processRefSchema.extend({ data: base64Schema });
const resizeBodySchema = processRefSchema.extend(ptyResizeSchema.shape);
const signalBodySchema = processRefSchema.extend({
  signal: z.union([z.string().min(1).max(16), z.number().int()]),
});

/** `POST /api/v1/agent/exec` as a client sends it: the sandbox id and an exec spec. */
export type AgentExecRequest = { sandboxId: string } & z.input<typeof execSpecSchema>;

/**
 * Parses `POST /api/v1/agent/exec` with the same rules as the Process API (packages/api): a
 * terminal implies stdin, and without a size gets {@link DEFAULT_TTY_SIZE}; a timeout of 0 is none.
 */
export function parseExecRequest(body: unknown): ExecRequest {
  const { sandboxId } = parseOrThrow(execTargetSchema, body);
  const { sandboxId: _, ...rest } = body as Record<string, unknown>;
  const spec = validateExecSpec(rest);
  return {
    sandboxId,
    command: spec.command,
    env: spec.env,
    cwd: spec.cwd,
    user: spec.user,
    tty: spec.tty
      ? { cols: spec.cols || DEFAULT_TTY_SIZE.cols, rows: spec.rows || DEFAULT_TTY_SIZE.rows }
      : undefined,
    // A terminal is interactive: it always has an input (runsc would not make stdin the terminal otherwise).
    stdin: (spec.stdin ?? false) || (spec.tty ?? false),
    timeoutMs: spec.timeoutMs || undefined,
  };
}

/** Parses the body naming one process (attach, close-input). */
export function parseProcessRef(body: unknown): { sandboxId: string; processId: string } {
  return parseOrThrow(processRefSchema, body);
}

/** Parses `POST /api/v1/agent/processes/input`: the data decoded. */
export function parseInputRequest(body: unknown): { sandboxId: string; processId: string; data: Buffer } {
  const b = parseOrThrow(inputBodySchema, body);
  return { sandboxId: b.sandboxId, processId: b.processId, data: Buffer.from(b.data, "base64") };
}

/** Parses `POST /api/v1/agent/processes/resize`. */
export function parseResizeRequest(body: unknown): z.output<typeof resizeBodySchema> {
  return parseOrThrow(resizeBodySchema, body);
}

/** Parses `POST /api/v1/agent/processes/signal`; the signal stays as given (see process-signals.ts). */
export function parseSignalRequest(body: unknown): z.output<typeof signalBodySchema> {
  return parseOrThrow(signalBodySchema, body);
}

/** The sandbox of `POST /api/v1/agent/create` as a client sends it (defaults may be left out). */
export type AgentCreateRequest = z.input<typeof sandboxSchema>;
/** `POST /api/v1/agent/delete` besides the sandbox id, as a client sends it. */
export type AgentDeleteOptions = Omit<z.input<typeof deleteBodySchema>, "sandboxId">;
/** One template of `PUT /api/v1/agent/prewarm` (the whole desired set), as a client sends it. */
export type AgentPrewarmTemplate = z.input<typeof prewarmBodySchema>["templates"][number];

/**
 * Parses `PUT /api/v1/agent/prewarm`, the complete desired set. The counts may add up to at most
 * `limit` (the agent's `--max-prewarm`); two templates with the same key (the same image, however
 * spelled, command, args and env) are a mistake, not a sum.
 */
export function parsePrewarmRequest(body: unknown, limit: number): PrewarmTemplate[] {
  const parsed = parseOrThrow(prewarmBodySchema, body);
  const templates = parsed.templates.map((t, i): PrewarmTemplate => {
    const image = normalizeImageName(t.image, `templates[${i}].image`);
    const { command, args, env, count } = t;
    return { key: prewarmKey({ image, command, args, env }), image, command, args, env, count };
  });
  const firstOfKey = new Map<string, number>();
  templates.forEach((t, i) => {
    const first = firstOfKey.get(t.key);
    if (first !== undefined) {
      throw invalidArgument(`templates[${i}]`, `is the same template as templates[${first}] (key ${t.key})`);
    }
    firstOfKey.set(t.key, i);
  });
  const total = templates.reduce((sum, t) => sum + t.count, 0);
  if (total > limit) {
    throw invalidArgument(
      "templates",
      `the counts add up to ${total}, above this agent's prewarm limit of ${limit} (--max-prewarm)`,
    );
  }
  return templates;
}

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
    // Absent rather than undefined, so the spec hash of a create that names no network is unchanged.
    ...(sandbox.network ? { network: sandbox.network } : {}),
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

/** Wire shapes of the agent's file routes (docs/agent-api.md, "Files"): request schemas and answer views. */
import {
  FileLimits,
  invalidArgument,
  parseOctalMode,
  parseOrThrow,
  sandboxIdSchema,
  validateFilePath,
} from "@fast-sandbox/api";
import { z } from "zod";
import type { FileEntry, FileType } from "./file-commands.ts";

/** A file as the file routes answer it. */
export interface AgentFileView {
  path: string;
  name: string;
  type: FileType;
  size: number;
  /** Permission bits (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** RFC 3339. */
  modifiedAt: string;
}

/** `POST /api/v1/agent/files/stat`. */
export interface AgentStatResponse {
  file: AgentFileView;
}

/** `POST /api/v1/agent/files/list`: entries sorted by path. */
export interface AgentListResponse {
  files: AgentFileView[];
  truncated: boolean;
}

export function fileView(e: FileEntry): AgentFileView {
  return { ...e, modifiedAt: e.modifiedAt.toISOString() };
}

/** A path as the routes take it: absolute, normalised, no NUL. */
function pathSchema(field: string) {
  return z.string().transform((p) => validateFilePath(p, field));
}

const modeSchema = z.number().int().min(0).max(0o7777).optional();

export const statRequestSchema = z.strictObject({ sandboxId: sandboxIdSchema, path: pathSchema("path") });
export const listRequestSchema = z.strictObject({
  sandboxId: sandboxIdSchema,
  path: pathSchema("path"),
  depth: z.number().int().min(1).max(FileLimits.maxListDepth).default(1),
});
export const mkdirRequestSchema = z.strictObject({
  sandboxId: sandboxIdSchema,
  path: pathSchema("path"),
  parents: z.boolean().default(false),
  mode: modeSchema,
});
export const removeRequestSchema = z.strictObject({
  sandboxId: sandboxIdSchema,
  path: pathSchema("path").refine((p) => p !== "/", "cannot remove /"),
  recursive: z.boolean().default(false),
});
export const moveRequestSchema = z.strictObject({
  sandboxId: sandboxIdSchema,
  from: pathSchema("from"),
  to: pathSchema("to"),
});

/** The query of `GET /api/v1/agent/files/download` and `PUT /api/v1/agent/files/upload`. */
export interface ContentQuery {
  sandboxId: string;
  path: string;
  /** A tar stream instead of one file's bytes. */
  archive: boolean;
  /** PUT: permission bits of the file written. */
  mode: number | undefined;
  /** PUT: make missing parent directories. */
  parents: boolean;
}

export function parseContentQuery(params: URLSearchParams): ContentQuery {
  const sandboxId = parseOrThrow(sandboxIdSchema, params.get("sandboxId") ?? "", "sandboxId");
  const archive = params.get("archive") ?? "";
  if (archive !== "" && archive !== "tar") throw invalidArgument("archive", `"${archive}" is not tar`);
  return {
    sandboxId,
    path: validateFilePath(params.get("path") ?? ""),
    archive: archive === "tar",
    mode: parseOctalMode(params.get("mode")),
    parents: parseFlag(params.get("parents"), "parents"),
  };
}

function parseFlag(raw: string | null, field: string): boolean {
  if (raw === null || raw === "" || raw === "false" || raw === "0") return false;
  if (raw === "true" || raw === "1") return true;
  throw invalidArgument(field, `"${raw}" is not true or false`);
}

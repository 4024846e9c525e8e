/** Paths, modes and depths of the file operations (FileService, the transfer endpoints, the agent's file routes). */
import { ErrorCode, FsbError, invalidArgument } from "./errors.ts";

/** The limits of the file operations, as docs/api.md states them. */
export const FileLimits = {
  /** Linux's PATH_MAX. */
  maxPathBytes: 4096,
  /** List depth: 1 is one level; deeper trees are listed a level at a time. */
  maxListDepth: 32,
  /** Entries one List returns at most; `truncated` says when there were more. */
  maxListEntries: 10_000,
  /** WriteFile carries its content in the request; larger files go through the streaming upload. */
  maxWriteFileBytes: 1024 * 1024,
  /** Bytes per ReadFile chunk. */
  readChunkBytes: 64 * 1024,
} as const;

/** Default mode of a new file (a replaced file keeps its mode) and of a new directory. */
export const DEFAULT_FILE_MODE = 0o644;
export const DEFAULT_DIR_MODE = 0o755;

/**
 * An absolute path inside the sandbox, normalised (`//` and `.` removed, `..` kept: the sandbox's
 * own kernel resolves it, inside the sandbox's root, so `..` cannot leave it).
 */
export function validateFilePath(path: string, field = "path"): string {
  if (path === "") throw invalidArgument(field, "is required");
  if (!path.startsWith("/")) throw invalidArgument(field, `"${path}" is not an absolute path`);
  if (path.includes("\0")) throw invalidArgument(field, "contains a NUL byte");
  if (Buffer.byteLength(path) > FileLimits.maxPathBytes) {
    throw invalidArgument(field, `is longer than ${FileLimits.maxPathBytes} bytes`);
  }
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  return `/${parts.join("/")}`;
}

/** A permission mode, 0 to 0o7777; 0 (unset in proto3) means "the default". */
export function validateFileMode(mode: number, field = "mode"): number | undefined {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw invalidArgument(field, `${mode} is not a mode from 0 to 0o7777 (4095)`);
  }
  return mode === 0 ? undefined : mode;
}

/** A mode written as octal digits (`644`, `0755`), as in a query string; empty means unset. */
export function parseOctalMode(raw: string | null | undefined, field = "mode"): number | undefined {
  if (raw === null || raw === undefined || raw === "") return undefined;
  if (!/^0?[0-7]{1,4}$/.test(raw)) throw invalidArgument(field, `"${raw}" is not an octal mode such as 644`);
  return validateFileMode(Number.parseInt(raw, 8), field);
}

/** A list depth: 0 (unset) means 1, one level. */
export function validateListDepth(depth: number, field = "depth"): number {
  if (!Number.isInteger(depth) || depth < 0 || depth > FileLimits.maxListDepth) {
    throw invalidArgument(field, `${depth} is not a depth from 1 to ${FileLimits.maxListDepth}`);
  }
  return depth === 0 ? 1 : depth;
}

/** Content for WriteFile, at most {@link FileLimits.maxWriteFileBytes}. */
export function validateWriteContent(content: Uint8Array, field = "content"): Uint8Array {
  if (content.length > FileLimits.maxWriteFileBytes) {
    throw new FsbError(
      ErrorCode.InvalidArgument,
      `is ${content.length} bytes, over the ${FileLimits.maxWriteFileBytes}-byte limit of WriteFile: use the streaming upload`,
      { field },
    );
  }
  return content;
}

/**
 * The busybox command lines of the file operations, and the parsing of what they print. Every
 * command runs inside the sandbox (its root, mount namespace and user) through runInSandbox, so the
 * sandbox's kernel resolves every path and symlink; nothing here resolves a path on the host.
 * Paths are passed as separate arguments (never spliced into a script) and are absolute, so no
 * path can be read as an option.
 */
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { BUSYBOX_IN_SANDBOX as B } from "./sandbox-tools.ts";

/** A file as stat reports it. */
export interface FileEntry {
  /** Absolute path inside the sandbox. */
  path: string;
  name: string;
  type: FileType;
  size: number;
  /** Permission bits (0o7777), without the type. */
  mode: number;
  uid: number;
  gid: number;
  modifiedAt: Date;
}

export type FileType = "file" | "directory" | "symlink" | "other";

/**
 * stat's format: raw mode in hex (type and permission bits), size, uid, gid, mtime in seconds.
 * Only numbers, so one line each; names travel NUL-terminated beside it.
 */
export const STAT_FORMAT = "%f %s %u %g %Y";

export function statArgv(path: string): string[] {
  return [B, "stat", "-c", STAT_FORMAT, "--", path];
}

/**
 * Lists below `$1` to depth `$2`: for each entry one stat line, then its name relative to `$1`
 * (`./a b`), NUL-terminated. An entry that vanishes before its stat prints nothing (find's
 * `-exec` is then false, so `-print0` does not run), so lines and names stay paired.
 */
const LIST_SCRIPT = `cd -- "$1" || exit
exec ${B} find . -mindepth 1 -maxdepth "$2" -exec ${B} stat -c '${STAT_FORMAT}' {} \\; -print0`;

export function listArgv(path: string, depth: number): string[] {
  return [B, "sh", "-c", LIST_SCRIPT, "sh", path, String(depth)];
}

export function mkdirArgv(path: string, parents: boolean, mode: number | undefined): string[] {
  return [
    B,
    "mkdir",
    ...(parents ? ["-p"] : []),
    ...(mode === undefined ? [] : ["-m", mode.toString(8)]),
    "--",
    path,
  ];
}

/** Without `recursive`, a directory is removed only when empty (rmdir); a symlink itself, never its target. */
const REMOVE_SCRIPT = `if [ -d "$1" ] && [ ! -L "$1" ]; then exec ${B} rmdir -- "$1"; fi
exec ${B} rm -- "$1"`;

export function removeArgv(path: string, recursive: boolean): string[] {
  return recursive ? [B, "rm", "-r", "--", path] : [B, "sh", "-c", REMOVE_SCRIPT, "sh", path];
}

/** A rename: `to` is the new path itself, never a directory to move into (`-T`). */
export function moveArgv(from: string, to: string): string[] {
  return [B, "mv", "-f", "-T", "--", from, to];
}

export function readArgv(path: string): string[] {
  return [B, "cat", "--", path];
}

/**
 * Writes stdin to `$3` through `$2`, a temporary name in the same directory, then renames it, so a
 * reader never sees half a file. `$1` is the directory (made when `$4` is 1); `$5` the mode in
 * octal, or empty to keep the mode of the file replaced (or 644 for a new one). A failure removes
 * the temporary file.
 *
 * The temporary is created by the script's own process (`exec 3>`), never by the `cat` it forks: a
 * broken-off upload kills that process, and the agent's cleanup after its exit must find every file
 * it will ever make. A forked child opening the file could do so after the cleanup (CI saw it).
 */
const WRITE_SCRIPT = `B=${B}
if [ "$4" = 1 ]; then $B mkdir -p -- "$1" || exit; fi
if [ -d "$3" ]; then echo "$3: Is a directory" >&2; exit 1; fi
m=$5
if [ -z "$m" ]; then m=644; if [ -f "$3" ]; then m=$($B stat -c %a -- "$3") || exit; fi; fi
exec 3> "$2" || exit 1
$B cat >&3 || { $B rm -f -- "$2"; exit 1; }
exec 3>&-
$B chmod "$m" -- "$2" && exec $B mv -f -T -- "$2" "$3"
$B rm -f -- "$2"; exit 1`;

export interface WriteTarget {
  path: string;
  /** The temporary name beside it; the caller picks one no sandbox process can guess. */
  temporary: string;
  parents: boolean;
  mode: number | undefined;
}

export function writeArgv(t: WriteTarget): string[] {
  const dir = parentOf(t.path);
  return [
    B,
    "sh",
    "-c",
    WRITE_SCRIPT,
    "sh",
    dir,
    t.temporary,
    t.path,
    t.parents ? "1" : "0",
    t.mode === undefined ? "" : t.mode.toString(8),
  ];
}

/** Removes a temporary file a killed write left behind. */
export function removeTemporaryArgv(temporary: string): string[] {
  return [B, "rm", "-f", "--", temporary];
}

/** A tar stream of `path` (a directory with everything below it, or one file), its top entry named as the path's last part. */
export function tarCreateArgv(path: string): string[] {
  if (path === "/") return [B, "tar", "c", "-f", "-", "-C", "/", "."];
  return [B, "tar", "c", "-f", "-", "-C", parentOf(path), nameOf(path)];
}

/**
 * Extracts a tar stream from stdin into the directory `$1` (made as needed). Owners are not
 * restored (`-o`): the files belong to the sandbox's user, as with any other write.
 */
const TAR_EXTRACT_SCRIPT = `${B} mkdir -p -- "$1" || exit
exec ${B} tar x -o -f - -C "$1"`;

export function tarExtractArgv(dir: string): string[] {
  return [B, "sh", "-c", TAR_EXTRACT_SCRIPT, "sh", dir];
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

export function nameOf(path: string): string {
  return path === "/" ? "/" : path.slice(path.lastIndexOf("/") + 1);
}

export function joinPath(dir: string, relative: string): string {
  return dir === "/" ? `/${relative}` : `${dir}/${relative}`;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function typeOf(rawMode: number): FileType {
  switch (rawMode & S_IFMT) {
    case S_IFDIR:
      return "directory";
    case S_IFREG:
      return "file";
    case S_IFLNK:
      return "symlink";
    default:
      return "other";
  }
}

/** One stat line (see {@link STAT_FORMAT}) of the file at `path`. */
export function parseStatLine(line: string, path: string): FileEntry {
  const fields = line.trim().split(" ");
  const [rawMode, size, uid, gid, mtime] = fields.map((f, i) =>
    i === 0 ? Number.parseInt(f, 16) : Number(f),
  );
  if (fields.length !== 5 || [rawMode, size, uid, gid, mtime].some((n) => !Number.isFinite(n))) {
    throw new FsbError(ErrorCode.Internal, `unexpected stat output for ${path}: ${JSON.stringify(line)}`);
  }
  const raw = rawMode as number;
  return {
    path,
    name: nameOf(path),
    type: typeOf(raw),
    size: size as number,
    mode: raw & 0o7777,
    uid: uid as number,
    gid: gid as number,
    modifiedAt: new Date((mtime as number) * 1000),
  };
}

/**
 * Reads the list script's output as it arrives: records of a stat line ending in `\n` and a name
 * ending in NUL. Names may hold any byte but NUL (spaces, newlines); the stat line holds none of them.
 */
export class ListParser {
  readonly #base: string;
  #pending: Buffer = Buffer.alloc(0);

  constructor(base: string) {
    this.#base = base;
  }

  /** The entries complete in what has arrived so far. */
  push(chunk: Buffer): FileEntry[] {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    const entries: FileEntry[] = [];
    for (;;) {
      const lineEnd = this.#pending.indexOf(0x0a);
      if (lineEnd < 0) break;
      const nameEnd = this.#pending.indexOf(0x00, lineEnd + 1);
      if (nameEnd < 0) break;
      const line = this.#pending.subarray(0, lineEnd).toString("utf8");
      const relative = this.#pending
        .subarray(lineEnd + 1, nameEnd)
        .toString("utf8")
        .replace(/^\.\//, "");
      entries.push(parseStatLine(line, joinPath(this.#base, relative)));
      this.#pending = this.#pending.subarray(nameEnd + 1);
    }
    return entries;
  }

  /** Whether output ended inside a record (the process was cut short). */
  get incomplete(): boolean {
    return this.#pending.length > 0;
  }
}

/** errno texts busybox prints, and what they mean for the caller. */
const failures: [RegExp, ErrorCode, string][] = [
  [/no such file or directory|nonexistent directory/i, ErrorCode.NotFound, "no such file or directory"],
  [/not a directory/i, ErrorCode.FailedPrecondition, "not a directory"],
  [/is a directory/i, ErrorCode.FailedPrecondition, "is a directory"],
  [/directory not empty/i, ErrorCode.FailedPrecondition, "directory not empty"],
  [/file exists/i, ErrorCode.AlreadyExists, "already exists"],
  [/too many levels of symbolic links/i, ErrorCode.FailedPrecondition, "too many levels of symbolic links"],
  [/permission denied|operation not permitted/i, ErrorCode.PermissionDenied, "permission denied"],
  [/read-only file system/i, ErrorCode.PermissionDenied, "read-only file system"],
  [/no space left on device|disk quota exceeded/i, ErrorCode.ResourceExhausted, "no space left on device"],
  [/file name too long/i, ErrorCode.InvalidArgument, "file name too long"],
  [
    /invalid argument|can't move .* to a subdirectory of itself/i,
    ErrorCode.FailedPrecondition,
    "invalid move",
  ],
];

/**
 * The error of a failed file command, naming the operation and the path (as the caller gave it,
 * never a temporary name). `field` is the request field the path came from.
 */
export function fileFailure(op: string, path: string, stderr: string, field = "path"): FsbError {
  for (const [pattern, code, reason] of failures) {
    if (pattern.test(stderr)) return new FsbError(code, `${op} ${path}: ${reason}`, { field });
  }
  const detail = stderr.trim().split("\n").slice(-3).join("; ") || "failed without a message";
  return new FsbError(ErrorCode.Internal, `${op} ${path}: ${detail}`);
}

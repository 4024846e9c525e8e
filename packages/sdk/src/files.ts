/** Files in a sandbox: `sandbox.files` (FileService for metadata and small files, streaming HTTP for large ones). */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { type StreamUploadAnswer, streamUpload } from "@fast-sandbox/api";
import {
  type FileService,
  FileType,
  type FileInfo as WireFileInfo,
} from "@fast-sandbox/api/gen/fastsandbox/v1/files_pb.ts";
import { BadRequestSchema } from "@fast-sandbox/api/gen/google/rpc/error_details_pb.ts";
import type { CallOptions } from "./call-options.ts";
import type { FastSandboxError } from "./errors.ts";

/** WriteFile carries at most this much; larger writes stream through {@link SandboxFiles.upload}. */
const MAX_UNARY_WRITE_BYTES = 1024 * 1024;

/** What `sandbox.files` needs from its client. */
export interface FilesContext {
  rpc: Client<typeof FileService>;
  /** The API's base URL and token, for the streaming endpoints. */
  endpoint: string;
  token: string | undefined;
  unary<T>(
    options: CallOptions,
    call: (signal: AbortSignal | undefined, timeoutMs: number | undefined) => Promise<T>,
  ): Promise<T>;
  translate(err: unknown): FastSandboxError;
}

/** A file in a sandbox. A symlink is reported as itself. */
export interface FileInfo {
  /** Absolute path inside the sandbox. */
  path: string;
  name: string;
  type: "file" | "directory" | "symlink" | "other";
  size: number;
  /** Permission bits, e.g. 0o644. */
  mode: number;
  uid: number;
  gid: number;
  modifiedAt: Date;
}

/** Options of {@link SandboxFiles.write} and {@link SandboxFiles.upload}. */
export interface WriteFileOptions extends CallOptions {
  /** Permission bits (e.g. 0o755); by default a replaced file keeps its mode and a new one gets 0o644. */
  mode?: number;
  /** Make missing parent directories (default true). */
  parents?: boolean;
}

/** Options of {@link SandboxFiles.upload} and {@link SandboxFiles.download}; `timeoutMs` bounds the whole transfer. */
export interface TransferOptions extends CallOptions {
  /** `"tar"`: the content is a tar stream (a directory): extracted into `path` on upload, made of `path` on download. */
  archive?: "tar";
}

/** Content to upload: bytes, a web stream, or any async iterable of bytes (e.g. a Node Readable). */
export type UploadSource = string | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * The files of one sandbox. Every operation runs inside the sandbox, so paths and symlinks resolve
 * as the sandbox sees them. Paths are absolute. Failures are typed: NotFoundError for a missing
 * path, FastSandboxError with code `failed_precondition` for a path of the wrong kind.
 *
 * @example
 * await box.files.write("/app/main.py", "print(6*7)\n");
 * const text = new TextDecoder().decode(await box.files.read("/app/main.py"));
 * const { files } = await box.files.list("/app", { depth: 2 });
 * await box.files.upload("/data/big.bin", createReadStream("big.bin"));
 * for await (const chunk of await box.files.download("/data/big.bin")) process.stdout.write(chunk);
 */
export class SandboxFiles {
  readonly #c: FilesContext;
  readonly #name: string;
  readonly #namespace: string;

  constructor(context: FilesContext, name: string, namespace: string) {
    this.#c = context;
    this.#name = name;
    this.#namespace = namespace;
  }

  /** A file's metadata. */
  async stat(path: string, options: CallOptions = {}): Promise<FileInfo> {
    return toFileInfo(
      await this.#c.unary(options, (signal, timeoutMs) =>
        this.#c.rpc.stat({ ...this.#target(), path }, { signal, timeoutMs }),
      ),
    );
  }

  /** The entries below a directory, `depth` levels deep (default 1), sorted by path; `truncated` past 10000. */
  async list(
    path: string,
    options: CallOptions & { depth?: number } = {},
  ): Promise<{ files: FileInfo[]; truncated: boolean }> {
    const res = await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.list({ ...this.#target(), path, depth: options.depth ?? 1 }, { signal, timeoutMs }),
    );
    return { files: res.files.map(toFileInfo), truncated: res.truncated };
  }

  /** Makes a directory, with its parents unless `parents` is false (then an existing one is an error). */
  async mkdir(path: string, options: CallOptions & { parents?: boolean; mode?: number } = {}): Promise<void> {
    await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.makeDir(
        { ...this.#target(), path, parents: options.parents ?? true, mode: options.mode ?? 0 },
        { signal, timeoutMs },
      ),
    );
  }

  /** Removes a file, a symlink or an empty directory; with `recursive`, a directory and all below it. */
  async remove(path: string, options: CallOptions & { recursive?: boolean } = {}): Promise<void> {
    await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.remove(
        { ...this.#target(), path, recursive: options.recursive ?? false },
        { signal, timeoutMs },
      ),
    );
  }

  /** Renames `from` to `to` (replacing a file there). */
  async move(from: string, to: string, options: CallOptions = {}): Promise<void> {
    await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.move({ ...this.#target(), from, to }, { signal, timeoutMs }),
    );
  }

  /** A whole file in memory; for large files use {@link download}. */
  async read(path: string, options: CallOptions = {}): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    try {
      const stream = this.#c.rpc.readFile(
        { ...this.#target(), path },
        {
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        },
      );
      for await (const chunk of stream) parts.push(chunk.data);
    } catch (err) {
      throw this.#c.translate(err);
    }
    return concat(parts);
  }

  /** Writes a file whole (a reader never sees half of it): text as UTF-8, or bytes. */
  async write(path: string, content: string | Uint8Array, options: WriteFileOptions = {}): Promise<void> {
    const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
    if (bytes.length > MAX_UNARY_WRITE_BYTES) return this.upload(path, bytes, options);
    await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.writeFile(
        {
          ...this.#target(),
          path,
          content: bytes,
          mode: options.mode ?? 0,
          parents: options.parents ?? true,
        },
        { signal, timeoutMs },
      ),
    );
  }

  /** Streams content of any size into a file (or, with `archive: "tar"`, a tar stream into a directory). */
  async upload(
    path: string,
    source: UploadSource,
    options: WriteFileOptions & TransferOptions = {},
  ): Promise<void> {
    const query = this.#query(path, options);
    if (options.mode !== undefined) query.set("mode", options.mode.toString(8));
    if (options.parents ?? true) query.set("parents", "true");
    const url = this.#url(query);
    let answer: StreamUploadAnswer;
    try {
      answer = await streamUpload(url, {
        method: "PUT",
        headers: this.#c.token ? { authorization: `Bearer ${this.#c.token}` } : {},
        body: toChunks(source),
        signal: transferSignal(options),
      });
    } catch (err) {
      throw this.#c.translate(transferError("PUT", url, err, options));
    }
    if (answer.status !== 200) {
      throw this.#c.translate(await errorOf(new Response(answer.text, { status: answer.status })));
    }
  }

  /** A file's bytes (or, with `archive: "tar"`, a tar stream of a directory) as they arrive. */
  async download(path: string, options: TransferOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const res = await this.#get(this.#query(path, options), options);
    return res.body ?? new ReadableStream({ start: (c) => c.close() });
  }

  #target() {
    return { name: this.#name, namespace: this.#namespace };
  }

  #query(path: string, options: TransferOptions): URLSearchParams {
    const query = new URLSearchParams({ path });
    if (options.archive) query.set("archive", options.archive);
    return query;
  }

  #url(query: URLSearchParams): string {
    return `${this.#c.endpoint.replace(/\/+$/, "")}/files/v1/namespaces/${encodeURIComponent(this.#namespace)}/sandboxes/${encodeURIComponent(this.#name)}?${query}`;
  }

  /** A download (a response body is read as it is consumed, so fetch is fine here). */
  async #get(query: URLSearchParams, options: CallOptions): Promise<Response> {
    const url = this.#url(query);
    let res: Response;
    try {
      res = await fetch(url, {
        headers: this.#c.token ? { authorization: `Bearer ${this.#c.token}` } : {},
        signal: transferSignal(options) ?? null,
      });
    } catch (err) {
      throw this.#c.translate(transferError("GET", url, err, options));
    }
    if (res.ok) return res;
    throw this.#c.translate(await errorOf(res));
  }
}

/** The caller's signal and `timeoutMs` (which bounds the whole transfer) as one signal. */
function transferSignal(options: CallOptions): AbortSignal | undefined {
  const signals = [options.signal, options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined];
  const given = signals.filter((s): s is AbortSignal => s !== undefined);
  return given.length > 1 ? AbortSignal.any(given) : given[0];
}

/** A transfer that failed before an answer: cancelled, timed out, or the server not reachable. */
function transferError(method: string, url: string, err: unknown, options: CallOptions): ConnectError {
  const [code, why] = options.signal?.aborted
    ? [Code.Canceled, "cancelled"]
    : isTimeout(err)
      ? [Code.DeadlineExceeded, `not done within ${options.timeoutMs} ms`]
      : [Code.Unavailable, (err as Error).message];
  return new ConnectError(`${method} ${url}: ${why}`, code, undefined, undefined, err);
}

/** fetch rejects with the timeout itself; node:http with an AbortError caused by it. */
function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; cause?: { name?: string } } | undefined;
  return e?.name === "TimeoutError" || e?.cause?.name === "TimeoutError";
}

/** The server's JSON error body as a ConnectError (code, message, field), so it is translated like an RPC's. */
async function errorOf(res: Response): Promise<ConnectError> {
  const text = await res.text().catch(() => "");
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string; field?: string } };
    const code = Code[toPascal(error.code) as keyof typeof Code] ?? Code.Unknown;
    // The field travels as a BadRequest detail, as on an RPC, so err.field reads it the same way.
    const details = error.field
      ? [
          {
            desc: BadRequestSchema,
            value: { fieldViolations: [{ field: error.field, description: error.message }] },
          },
        ]
      : [];
    return new ConnectError(error.message, code, undefined, details);
  } catch {
    return new ConnectError(`HTTP ${res.status}: ${text.slice(0, 200)}`, Code.Unknown);
  }
}

/** NOT_FOUND → NotFound (Connect's Code names); CANCELLED is Canceled there. */
function toPascal(code: string): string {
  if (code === "CANCELLED") return "Canceled";
  return code
    .toLowerCase()
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}

/** Any upload source as chunks of bytes, read only as they are sent. */
async function* toChunks(source: UploadSource): AsyncGenerator<Uint8Array> {
  if (typeof source === "string") yield new TextEncoder().encode(source);
  else if (source instanceof Uint8Array) yield source;
  else yield* source as AsyncIterable<Uint8Array>;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

const types: Record<FileType, FileInfo["type"]> = {
  [FileType.UNSPECIFIED]: "other",
  [FileType.FILE]: "file",
  [FileType.DIRECTORY]: "directory",
  [FileType.SYMLINK]: "symlink",
  [FileType.OTHER]: "other",
};

function toFileInfo(f: WireFileInfo): FileInfo {
  return {
    path: f.path,
    name: f.name,
    type: types[f.type] ?? "other",
    size: Number(f.size),
    mode: f.mode,
    uid: f.uid,
    gid: f.gid,
    modifiedAt: f.modifiedAt ? timestampDate(f.modifiedAt as Timestamp) : new Date(0),
  };
}

/** FileService over Connect: wire messages in, validated calls routed to the sandbox's agent, FileInfo out. */

import { Readable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  FileLimits,
  invalidArgument,
  validateFileMode,
  validateFilePath,
  validateListDepth,
  validateWriteContent,
} from "@fast-sandbox/api";
import {
  type FileInfo,
  FileInfoSchema,
  type FileService,
  FileType,
} from "@fast-sandbox/api/gen/fastsandbox/v1/files_pb.ts";
import type { AgentFileView } from "../../agent/file-wire.ts";
import type { FileTarget, SandboxFileAccess } from "./sandbox-file-access.ts";

/** The service implementation; errors are FsbErrors, which the server's error boundary maps to codes. */
export function fileRpc(access: SandboxFileAccess): ServiceImpl<typeof FileService> {
  return {
    async stat(req, context) {
      const path = validateFilePath(req.path);
      const { files, sandboxId } = await access.placement(targetOf(req));
      return toFileInfo(await files.stat(sandboxId, path, context.signal));
    },
    async list(req, context) {
      const path = validateFilePath(req.path);
      const depth = validateListDepth(req.depth);
      const { files, sandboxId } = await access.placement(targetOf(req));
      const listed = await files.list(sandboxId, path, depth, context.signal);
      return { files: listed.files.map(toFileInfo), truncated: listed.truncated };
    },
    async makeDir(req, context) {
      const path = validateFilePath(req.path);
      const mode = validateFileMode(req.mode);
      const { files, sandboxId } = await access.placement(targetOf(req));
      await files.mkdir(sandboxId, path, { parents: req.parents, mode }, context.signal);
      return {};
    },
    async remove(req, context) {
      const path = validateFilePath(req.path);
      if (path === "/") throw invalidArgument("path", "cannot remove /");
      const { files, sandboxId } = await access.placement(targetOf(req));
      await files.remove(sandboxId, path, req.recursive, context.signal);
      return {};
    },
    async move(req, context) {
      const from = validateFilePath(req.from, "from");
      const to = validateFilePath(req.to, "to");
      const { files, sandboxId } = await access.placement(targetOf(req));
      await files.move(sandboxId, from, to, context.signal);
      return {};
    },
    async *readFile(req, context) {
      const path = validateFilePath(req.path);
      const { files, sandboxId } = await access.placement(targetOf(req));
      const content = await files.download(sandboxId, path, false, context.signal);
      for await (const data of chunks(content, FileLimits.readChunkBytes)) yield { data };
    },
    async writeFile(req, context) {
      const path = validateFilePath(req.path);
      const content = validateWriteContent(req.content);
      const mode = validateFileMode(req.mode);
      const { files, sandboxId } = await access.placement(targetOf(req));
      const target = { path, archive: false, mode, parents: req.parents };
      await files.upload(sandboxId, target, Readable.from([Buffer.from(content)]), context.signal);
      return {};
    },
  };
}

function targetOf(req: { name: string; namespace: string }): FileTarget {
  if (!req.name) throw invalidArgument("name", "is required");
  return { namespace: req.namespace, name: req.name };
}

/** Re-cuts a stream into chunks of at most `size` bytes (a Connect message per chunk). */
async function* chunks(stream: Readable, size: number): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i += size) yield chunk.subarray(i, i + size);
  }
}

const typeOf: Record<AgentFileView["type"], FileType> = {
  file: FileType.FILE,
  directory: FileType.DIRECTORY,
  symlink: FileType.SYMLINK,
  other: FileType.OTHER,
};

export function toFileInfo(f: AgentFileView): FileInfo {
  return create(FileInfoSchema, {
    path: f.path,
    name: f.name,
    type: typeOf[f.type],
    size: BigInt(f.size),
    mode: f.mode,
    uid: f.uid,
    gid: f.gid,
    modifiedAt: timestampFromDate(new Date(f.modifiedAt)),
  });
}

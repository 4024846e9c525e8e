/**
 * The streaming file endpoints beside the RPCs on the API port (docs/api.md, "Files"), for files of
 * any size over plain HTTP/1.1 or HTTP/2:
 *   GET /files/v1/namespaces/{namespace}/sandboxes/{name}?path=…[&archive=tar]   download
 *   PUT /files/v1/namespaces/{namespace}/sandboxes/{name}?path=…[&mode=…][&parents=true][&archive=tar]   upload
 * Bodies pass through with backpressure, so neither the controller nor the agent holds a file.
 */
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ErrorCode, FsbError, invalidArgument, parseOctalMode, validateFilePath } from "@fast-sandbox/api";
import type { ApiRequest, ApiResponse } from "../../api-server/api-server.ts";
import { authFailureMessage, BearerToken } from "../../http/bearer-token.ts";
import { sendError, sendJson } from "../../http/responses.ts";
import type { SandboxFileAccess } from "./sandbox-file-access.ts";

export const FILES_PATH_PREFIX = "/files/v1/";
const pathPattern = /^\/files\/v1\/namespaces\/([^/]+)\/sandboxes\/([^/]+)$/;

export interface FileTransferOptions {
  /** The API token (undefined with --insecure). */
  token: string | undefined;
  access: SandboxFileAccess;
  /** Told about failures answered with a 5xx status. */
  onServerError?: (err: unknown) => void;
}

/** Serves the file endpoints and resolves true; resolves false, sending nothing, for any other path. */
export function fileTransferHandler(
  o: FileTransferOptions,
): (req: ApiRequest, res: ApiResponse) => Promise<boolean> {
  const token = o.token ? new BearerToken(o.token) : undefined;
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    let body: PassThrough | undefined;
    if (!url.pathname.startsWith(FILES_PATH_PREFIX)) return false;
    try {
      const failure = token?.check(req.headers.authorization);
      if (failure) throw new FsbError(ErrorCode.Unauthenticated, authFailureMessage(failure));
      const match = pathPattern.exec(url.pathname);
      if (!match) throw new FsbError(ErrorCode.NotFound, `no route ${url.pathname}`);
      const target = { namespace: decodeURIComponent(match[1]!), name: decodeURIComponent(match[2]!) };
      const query = parseQuery(url.searchParams);
      const abort = new AbortController();
      res.once("close", () => abort.abort());
      if (req.method === "GET") {
        const { files, sandboxId } = await o.access.placement(target);
        const content = await files.download(sandboxId, query.path, query.archive, abort.signal);
        res.statusCode = 200;
        res.setHeader("content-type", query.archive ? "application/x-tar" : "application/octet-stream");
        res.setHeader("cache-control", "no-store");
        // A failure after the first byte cuts the answer off: the client sees a failed transfer.
        await pipeline(content, res as NodeJS.WritableStream).catch(() => res.destroy());
      } else if (req.method === "PUT") {
        const { files, sandboxId } = await o.access.placement(target);
        // Through a pipe, so that the upload stopping early leaves `req` readable for the drain below.
        body = (req as unknown as Readable).pipe(new PassThrough());
        await files.upload(sandboxId, query, body, abort.signal);
        sendJson(res, 200, { success: true });
      } else {
        res.setHeader("allow", "GET, PUT");
        throw new FsbError(ErrorCode.InvalidArgument, "use GET (download) or PUT (upload)");
      }
    } catch (err) {
      if (res.headersSent) res.destroy();
      else if (sendError(res, err) >= 500) o.onServerError?.(err);
      // A refused upload's body is read on and dropped: a client that sends the whole body before it
      // reads the answer (Python's http.client does) would otherwise wait on a full window. The
      // HTTP/1.1 server's request time limit bounds it.
      if (req.method === "PUT" && !(req as { complete?: boolean }).complete) {
        // Unpiped first: the pipe would pause `req` again when its end closes.
        if (body) (req as unknown as Readable).unpipe(body);
        (req as unknown as Readable).resume();
      }
    }
    return true;
  };
}

interface TransferQuery {
  path: string;
  archive: boolean;
  mode: number | undefined;
  parents: boolean;
}

function parseQuery(params: URLSearchParams): TransferQuery {
  const archive = params.get("archive") ?? "";
  if (archive !== "" && archive !== "tar") throw invalidArgument("archive", `"${archive}" is not tar`);
  const parents = params.get("parents") ?? "";
  if (!["", "true", "false", "1", "0"].includes(parents)) {
    throw invalidArgument("parents", `"${parents}" is not true or false`);
  }
  return {
    path: validateFilePath(params.get("path") ?? ""),
    archive: archive === "tar",
    mode: parseOctalMode(params.get("mode")),
    parents: parents === "true" || parents === "1",
  };
}

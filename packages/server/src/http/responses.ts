/** JSON answers of the HTTP surfaces: sendJson, and sendError with the one FsbError code → HTTP status map. */
import type http from "node:http";
import type http2 from "node:http2";
import { ErrorCode, toFsbError } from "@fast-sandbox/api";
import { BodyTooLargeError } from "./json-body.ts";

/** A request of either Node HTTP server (HTTP/1.1, or the HTTP/2 compatibility API). */
export type HttpRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** The part of a Node response (HTTP/1.1 or HTTP/2) the toolkit writes through. */
export interface HttpResponse {
  statusCode: number;
  readonly headersSent: boolean;
  setHeader(name: string, value: string | number): unknown;
  end(body: string): unknown;
  destroy(error?: Error): unknown;
}

/** The usual mapping of gRPC codes onto HTTP (the one Connect uses), so clients can rely on either. */
const statusByCode: Record<ErrorCode, number> = {
  [ErrorCode.Cancelled]: 499,
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.DeadlineExceeded]: 504,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.AlreadyExists]: 409,
  [ErrorCode.PermissionDenied]: 403,
  [ErrorCode.ResourceExhausted]: 429,
  [ErrorCode.FailedPrecondition]: 412,
  [ErrorCode.Aborted]: 409,
  [ErrorCode.OutOfRange]: 400,
  [ErrorCode.Unimplemented]: 501,
  [ErrorCode.Internal]: 500,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.Unauthenticated]: 401,
};

export function httpStatusFor(code: ErrorCode): number {
  return statusByCode[code];
}

/**
 * The JSON error body every failing endpoint answers with. `message` never repeats `field`: the
 * field is data of its own, and the reader joins them where a person reads the error.
 */
export interface ErrorBody {
  success: false;
  error: { code: ErrorCode; message: string; field?: string };
}

/** The error body of anything thrown (an FsbError keeps its code; anything else is INTERNAL). */
export function errorBody(err: unknown): ErrorBody {
  const error = toFsbError(err);
  return {
    success: false,
    error: { code: error.code, message: error.rawMessage, ...(error.field ? { field: error.field } : {}) },
  };
}

/** The HTTP status of anything thrown: its code's status (413 for a body over the limit). */
export function errorStatus(err: unknown): number {
  return err instanceof BodyTooLargeError ? 413 : httpStatusFor(toFsbError(err).code);
}

export function sendJson(res: HttpResponse, status: number, body: unknown): void {
  send(res, status, "application/json", JSON.stringify(body));
}

export function sendText(res: HttpResponse, status: number, body: string, contentType = "text/plain"): void {
  send(res, status, contentType, body);
}

/**
 * Answers `err` as an {@link ErrorBody} with its status, and returns that status. Once the headers
 * are out (a stream under way) there is no status line left to use: the connection is cut instead,
 * so the client sees the failure rather than a short body.
 */
export function sendError(res: HttpResponse, err: unknown): number {
  const status = errorStatus(err);
  if (res.headersSent) res.destroy(toFsbError(err));
  else sendJson(res, status, errorBody(err));
  return status;
}

function send(res: HttpResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader("content-type", contentType);
  res.setHeader("content-length", Buffer.byteLength(body));
  res.end(body);
}

/** A routes table for the JSON-over-HTTP surfaces: exact path → method, auth and handler, with one way to say 401/404/405. */
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { authFailureMessage, type BearerToken } from "./bearer-token.ts";
import { errorBody, type HttpRequest, type HttpResponse, sendError, sendJson } from "./responses.ts";

/** One route of a {@link RouteTable}. */
export interface Route<Req extends HttpRequest = HttpRequest, Res extends HttpResponse = HttpResponse> {
  method: "GET" | "POST" | "PUT";
  /** Answered without a token: probes and scrapes, as kubelet and Prometheus send none by default. */
  public?: boolean;
  /** Answers the request; what it throws is answered by sendError. */
  handle(req: Req, res: Res, url: URL): Promise<void> | void;
}

/** Options of {@link RouteTable}. */
export interface RouteTableOptions {
  /** Required on every route that is not public; undefined serves without auth. */
  token?: BearerToken | undefined;
  /** Told about every failure answered with a 5xx status (the client sees the message only). */
  onServerError?: (err: unknown) => void;
}

/**
 * Paths match exactly (no trailing-slash or prefix matching); the query string is the handler's.
 * A request is judged in this order: path (404), token (401), method (405 with `allow`), so a
 * client without the token learns which paths exist but nothing about them.
 */
export class RouteTable<Req extends HttpRequest = HttpRequest, Res extends HttpResponse = HttpResponse> {
  readonly #routes: ReadonlyMap<string, Route<Req, Res>>;
  readonly #options: RouteTableOptions;

  constructor(routes: Record<string, Route<Req, Res>>, options: RouteTableOptions = {}) {
    this.#routes = new Map(Object.entries(routes));
    this.#options = options;
  }

  /** The route path a request is for, or undefined when no route matches. */
  match(req: Pick<HttpRequest, "url">): string | undefined {
    const path = urlOf(req)?.pathname;
    return path !== undefined && this.#routes.has(path) ? path : undefined;
  }

  /** Serves a request for one of its paths and resolves true; resolves false, sending nothing, for any other. */
  async serve(req: Req, res: Res): Promise<boolean> {
    const url = urlOf(req);
    const route = url && this.#routes.get(url.pathname);
    if (!url || !route) return false;
    try {
      const token = this.#options.token;
      const failure = route.public || !token ? undefined : token.check(req.headers.authorization);
      if (failure) throw new FsbError(ErrorCode.Unauthenticated, authFailureMessage(failure));
      if (req.method !== route.method) {
        res.setHeader("allow", route.method);
        sendJson(res, 405, errorBody(new FsbError(ErrorCode.InvalidArgument, `use ${route.method}`)));
        return true;
      }
      await route.handle(req, res, url);
    } catch (err) {
      if (sendError(res, err) >= 500) this.#options.onServerError?.(err);
    }
    return true;
  }

  /** Serves a request, answering 404 NOT_FOUND for a path no route has. */
  async handle(req: Req, res: Res): Promise<void> {
    if (await this.serve(req, res)) return;
    const path = urlOf(req)?.pathname ?? req.url;
    sendError(res, new FsbError(ErrorCode.NotFound, `no route ${path}`));
  }
}

function urlOf(req: Pick<HttpRequest, "url">): URL | undefined {
  try {
    return new URL(req.url ?? "/", "http://localhost");
  } catch {
    return undefined;
  }
}

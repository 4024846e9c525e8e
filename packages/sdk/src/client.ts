/** The Fast Sandbox client: where to connect, with which token, and the resource methods. */
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { FastPathService } from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { FileService } from "@fast-sandbox/api/gen/fastsandbox/v1/files_pb.ts";
import { SandboxPoolService } from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import { ProcessService } from "@fast-sandbox/api/gen/fastsandbox/v1/process_pb.ts";
import type { CallOptions } from "./call-options.ts";
import { type ConfigOverrides, resolveConfig } from "./config.ts";
import { type ResourceKind, toSdkError } from "./errors.ts";
import { Pools } from "./pools.ts";
import type { LogsOptions } from "./sandbox.ts";
import { Sandboxes } from "./sandboxes.ts";

/** A call without its own timeout gets this one: a create is ~70 ms, a strong one waits for Running. */
const DEFAULT_TIMEOUT_MS = 60_000;

/** Options of {@link FastSandbox}. Anything unset comes from env (`FSB_ENDPOINT`, `FSB_TOKEN`, `FSB_NAMESPACE`) or the config files. */
export interface FastSandboxOptions extends ConfigOverrides {
  /** `connect` (JSON-capable, HTTP/1.1; the default) or `grpc` (HTTP/2). */
  protocol?: "connect" | "grpc";
  /** Default timeout of each call, in milliseconds. */
  timeoutMs?: number;
}

/** Options of {@link FastSandbox.logs}. */
export interface SandboxLogsOptions extends LogsOptions {
  namespace?: string;
}

/**
 * Connects to Fast Sandbox. With no options it finds a standalone system started by `npm start`.
 *
 * @example
 * import { FastSandbox } from "@fast-sandbox/sdk";
 * const fsb = new FastSandbox();                      // endpoint and token from env or ~/.fsb/config.yaml
 * const box = await fsb.sandboxes.create({ image: "busybox", command: ["echo", "hi"] });
 * for await (const text of box.logs({ follow: true })) process.stdout.write(text);
 * await fsb.pools.apply({ name: "small-pool", spec: { capacity: { poolMin: 1, poolMax: 2 } } });
 */
export class FastSandbox {
  readonly endpoint: string;
  readonly namespace: string;
  readonly sandboxes: Sandboxes;
  /** The pools of agents sandboxes run on. */
  readonly pools: Pools;
  readonly #rpc: Client<typeof FastPathService>;
  readonly #timeoutMs: number;

  constructor(options: FastSandboxOptions = {}) {
    const config = resolveConfig(options);
    this.endpoint = config.endpoint;
    this.namespace = config.namespace;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const token = config.token;
    const auth: Interceptor = (next) => (req) => {
      if (token) req.header.set("authorization", `Bearer ${token}`);
      return next(req);
    };
    const transport =
      options.protocol === "grpc"
        ? createGrpcTransport({ baseUrl: this.endpoint, interceptors: [auth] })
        : createConnectTransport({ baseUrl: this.endpoint, httpVersion: "1.1", interceptors: [auth] });
    this.#rpc = createClient(FastPathService, transport);
    this.sandboxes = new Sandboxes(
      {
        rpc: this.#rpc,
        namespace: this.namespace,
        unary: (o, call) => this.#unary(o, call),
        translate: (err) => toSdkError(err, this.endpoint),
      },
      (name, o) => this.logs(name, o),
      {
        rpc: createClient(ProcessService, transport),
        namespace: this.namespace,
        unary: (o, call) => this.#unary(o, call),
        translate: (err) => toSdkError(err, this.endpoint),
      },
      {
        rpc: createClient(FileService, transport),
        endpoint: this.endpoint,
        token,
        unary: (o, call) => this.#unary(o, call, "file"),
        translate: (err) => toSdkError(err, this.endpoint, "file"),
      },
    );
    this.pools = new Pools({
      rpc: createClient(SandboxPoolService, transport),
      namespace: this.namespace,
      unary: (o, call) => this.#unary(o, call, "pool"),
      translate: (err) => toSdkError(err, this.endpoint, "pool"),
    });
  }

  /**
   * A sandbox's output as text chunks. With `follow` it keeps streaming until the process exits
   * (or `signal` aborts); `tailLines` starts that many lines before the end.
   */
  async *logs(name: string, options: SandboxLogsOptions = {}): AsyncGenerator<string> {
    const decoder = new TextDecoder();
    // Ending the iteration early does not end the HTTP stream by itself: abort it on the way out.
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    try {
      for await (const chunk of this.#rpc.getSandboxLogs(
        {
          name,
          namespace: options.namespace ?? this.namespace,
          follow: options.follow ?? false,
          ...(options.tailLines !== undefined ? { tailLines: options.tailLines } : {}),
        },
        {
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        },
      )) {
        const text = decoder.decode(chunk.data, { stream: true });
        if (text) yield text;
      }
      const rest = decoder.decode();
      if (rest) yield rest;
    } catch (err) {
      if (signal.aborted) return;
      throw toSdkError(err, this.endpoint);
    } finally {
      stop.abort();
    }
  }

  /** The server's version (`GET /version` on the API port). */
  async serverVersion(options: CallOptions = {}): Promise<{ version: string; node: string }> {
    return this.#unary(options, async (signal, timeoutMs) => {
      // A plain fetch: give it the deadline and the error codes a Connect call would have.
      const deadline = timeoutMs !== undefined ? AbortSignal.timeout(timeoutMs) : undefined;
      const signals = [...(signal ? [signal] : []), ...(deadline ? [deadline] : [])];
      const res = await fetch(new URL("/version", this.endpoint), {
        ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
      }).catch((err: unknown) => {
        if (deadline?.aborted)
          throw new ConnectError(`GET /version timed out after ${timeoutMs} ms`, Code.DeadlineExceeded);
        if (signal?.aborted) throw err;
        throw new ConnectError(String(err), Code.Unavailable, undefined, undefined, err);
      });
      if (!res.ok) throw new Error(`GET /version answered ${res.status}`);
      return (await res.json()) as { version: string; node: string };
    });
  }

  async #unary<T>(
    options: CallOptions,
    call: (signal: AbortSignal | undefined, timeoutMs: number | undefined) => Promise<T>,
    resource: ResourceKind = "sandbox",
  ): Promise<T> {
    try {
      return await call(options.signal, options.timeoutMs ?? this.#timeoutMs);
    } catch (err) {
      throw toSdkError(err, this.endpoint, resource);
    }
  }
}

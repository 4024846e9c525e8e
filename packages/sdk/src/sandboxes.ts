/** `fsb.sandboxes`: create, get, list, update, reset, delete and watch sandboxes. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  ConsistencyMode,
  CreateRequestSchema,
  FailurePolicy,
  type FastPathService,
  WatchEvent_Type,
} from "@fast-sandbox/api/gen/fastsandbox/v1/fastpath_pb.ts";
import type { CallContext } from "./call-context.ts";
import type { CallOptions } from "./call-options.ts";
import { FastSandboxError } from "./errors.ts";
import { type DeleteOptions, Sandbox, type SandboxOps } from "./sandbox.ts";
import { type SandboxDetails, toDetails } from "./sandbox-info.ts";

/** What a new sandbox should be. Only `image` is required. */
export interface CreateSandboxOptions extends CallOptions {
  /** The idempotency key; generated (`sb-xxxxxxxx`) when omitted. */
  name?: string;
  namespace?: string;
  image: string;
  /** Replaces the image's entrypoint. */
  command?: string[];
  /** Replaces the image's cmd. */
  args?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  exposedPorts?: number[];
  /** Pool to place it in (default `default-pool`). */
  pool?: string;
  /** `fast` answers once the container runs; `strong` once the object is recorded and Running. */
  mode?: "fast" | "strong";
  failurePolicy?: "Manual" | "AutoRecreate";
  recoveryTimeoutSeconds?: number;
  /** When it expires: a Date, or milliseconds from now. */
  expireAt?: Date;
  expireInMs?: number;
  resources?: { cpu?: string; memory?: string; pids?: number };
  labels?: Record<string, string>;
  /**
   * Network mode and egress rules, where the pool lets a sandbox choose them; the pool's when unset.
   * `isolated`: its own address and firewall rules; `none`: loopback only; `agent`: the agent's
   * namespace. A sandbox never reaches the host, the agents, the controller, other sandboxes or
   * link-local addresses, whatever `egress` says.
   *
   * @example { mode: "isolated", egress: { default: "deny", allow: ["198.51.100.0/24"] } }
   */
  network?: SandboxNetworkOptions;
}

/** How a sandbox is networked (see {@link CreateSandboxOptions.network}). */
export interface SandboxNetworkOptions {
  mode?: "isolated" | "none" | "agent";
  egress?: {
    /** For destinations neither list names; `allow` when unset. */
    default?: "allow" | "deny";
    /** IPv4 CIDRs allowed; they also open the private and node networks refused by default. */
    allow?: string[];
    /** IPv4 CIDRs refused; checked before `allow`. */
    deny?: string[];
  };
}

/** What {@link Sandboxes.update} can change. */
export interface UpdateSandboxOptions extends CallOptions {
  namespace?: string;
  /** Merged into the labels; an empty value removes a label. */
  labels?: Record<string, string>;
  expireAt?: Date;
  expireInMs?: number;
  /** Never expire. */
  noExpire?: boolean;
  failurePolicy?: "Manual" | "AutoRecreate";
  recoveryTimeoutSeconds?: number;
}

/** Options of {@link Sandboxes.get}. */
export interface GetSandboxOptions extends CallOptions {
  namespace?: string;
}

/** Options of {@link Sandboxes.list}. */
export interface ListSandboxesOptions extends CallOptions {
  namespace?: string;
  /** Every namespace (ignores `namespace`). */
  allNamespaces?: boolean;
  /** Only sandboxes whose labels match, such as `team=a`. */
  labelSelector?: string;
}

/** Options of {@link Sandboxes.reset}. */
export interface ResetSandboxOptions extends CallOptions {
  namespace?: string;
}

/** Options of {@link Sandboxes.delete}. */
export interface DeleteSandboxOptions extends DeleteOptions {
  namespace?: string;
}

/** Options of {@link Sandboxes.watch}: it runs until `signal` aborts, so it takes no timeout. */
export interface WatchSandboxesOptions {
  namespace?: string;
  /** Every namespace (ignores `namespace`). */
  allNamespaces?: boolean;
  /** Only sandboxes whose labels match, such as `team=a`. */
  labelSelector?: string;
  signal?: AbortSignal;
}

/** One change seen by {@link Sandboxes.watch}; `synced` marks the end of the initial list. */
export type SandboxEvent =
  | { type: "added" | "modified"; sandbox: SandboxDetails }
  | { type: "deleted"; sandbox: SandboxDetails }
  | { type: "synced" };

const eventTypes: Record<number, "added" | "modified" | "deleted"> = {
  [WatchEvent_Type.ADDED]: "added",
  [WatchEvent_Type.MODIFIED]: "modified",
  [WatchEvent_Type.DELETED]: "deleted",
};

/**
 * Sandbox operations, reached as `fsb.sandboxes`.
 *
 * @example
 * const web = await fsb.sandboxes.create({ name: "web", image: "busybox", exposedPorts: [8080],
 *   command: ["httpd", "-f", "-p", "8080"] });
 * const all = await fsb.sandboxes.list({ labelSelector: "team=a" });
 */
export class Sandboxes {
  readonly #c: CallContext<typeof FastPathService>;
  readonly #ops: SandboxOps;

  constructor(
    context: CallContext<typeof FastPathService>,
    logs: SandboxOps["logs"],
    process: SandboxOps["process"],
    files: SandboxOps["files"],
  ) {
    this.#c = context;
    this.#ops = {
      process,
      files,
      get: (name, o) => this.get(name, o).then((s) => s.details),
      delete: (name, o) => this.delete(name, o),
      logs,
      watchOne: (name, namespace, signal) => this.#watchOne(name, namespace, signal),
    };
  }

  /** Creates a sandbox, or returns the existing one of that name if it has the same spec. */
  async create(options: CreateSandboxOptions): Promise<Sandbox> {
    const expireAt =
      options.expireAt ??
      (options.expireInMs !== undefined ? new Date(Date.now() + options.expireInMs) : undefined);
    const request = create(CreateRequestSchema, {
      name: options.name ?? "",
      namespace: options.namespace ?? this.#c.namespace,
      image: options.image,
      command: options.command ?? [],
      args: options.args ?? [],
      env: Object.entries(options.env ?? {}).map(([name, value]) => ({ name, value })),
      workingDir: options.workingDir ?? "",
      exposedPorts: options.exposedPorts ?? [],
      poolRef: options.pool ?? "",
      consistencyMode:
        options.mode === "strong"
          ? ConsistencyMode.STRONG
          : options.mode === "fast"
            ? ConsistencyMode.FAST
            : ConsistencyMode.UNSPECIFIED,
      failurePolicy: policy(options.failurePolicy),
      ...(options.recoveryTimeoutSeconds !== undefined
        ? { recoveryTimeoutSeconds: options.recoveryTimeoutSeconds }
        : {}),
      ...(expireAt ? { expireTime: timestampFromDate(expireAt) } : {}),
      ...(options.network ? { network: networkRequest(options.network) } : {}),
      ...(options.resources
        ? {
            resources: {
              cpu: options.resources.cpu ?? "",
              memory: options.resources.memory ?? "",
              pids: options.resources.pids,
            },
          }
        : {}),
      labels: options.labels ?? {},
    });
    const response = await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.createSandbox(request, { signal, timeoutMs }),
    );
    if (!response.sandbox)
      throw new FastSandboxError("the server answered without a sandbox", { code: "internal" });
    return new Sandbox(toDetails(response.sandbox), this.#ops, response.created);
  }

  /** One sandbox; NotFoundError when it does not exist. */
  async get(name: string, options: GetSandboxOptions = {}): Promise<Sandbox> {
    const info = await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.getSandbox(
        { name, namespace: options.namespace ?? this.#c.namespace },
        { signal, timeoutMs },
      ),
    );
    return new Sandbox(toDetails(info), this.#ops);
  }

  /** Sandboxes of a namespace (or all, with `allNamespaces`), optionally by label selector. */
  async list(options: ListSandboxesOptions = {}): Promise<Sandbox[]> {
    const namespace = options.allNamespaces ? "*" : (options.namespace ?? this.#c.namespace);
    const response = await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.listSandboxes(
        { namespace, labelSelector: options.labelSelector ?? "" },
        { signal, timeoutMs },
      ),
    );
    return response.sandboxes.map((info) => new Sandbox(toDetails(info), this.#ops));
  }

  /** Changes labels, expiry, failure policy or recovery timeout. */
  async update(name: string, options: UpdateSandboxOptions): Promise<Sandbox> {
    const expireAt =
      options.expireAt ??
      (options.expireInMs !== undefined ? new Date(Date.now() + options.expireInMs) : undefined);
    const expiry = options.noExpire
      ? { case: "clearExpireTime" as const, value: true }
      : expireAt
        ? { case: "expireTime" as const, value: timestampFromDate(expireAt) }
        : { case: undefined };
    const response = await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.updateSandbox(
        {
          name,
          namespace: options.namespace ?? this.#c.namespace,
          labels: options.labels ?? {},
          expiry,
          failurePolicy: policy(options.failurePolicy),
          ...(options.recoveryTimeoutSeconds !== undefined
            ? { recoveryTimeoutSeconds: options.recoveryTimeoutSeconds }
            : {}),
        },
        { signal, timeoutMs },
      ),
    );
    return new Sandbox(toDetails(response.sandbox!), this.#ops);
  }

  /** Recreates the sandbox's container from the same spec (a new `id`). */
  async reset(name: string, options: ResetSandboxOptions = {}): Promise<Sandbox> {
    const response = await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.updateSandbox(
        { name, namespace: options.namespace ?? this.#c.namespace, reset: true },
        { signal, timeoutMs },
      ),
    );
    return new Sandbox(toDetails(response.sandbox!), this.#ops);
  }

  /**
   * Deletes a sandbox (SIGTERM, grace period, SIGKILL). With `wait`, resolves once it is gone.
   * Deleting one that does not exist is a NotFoundError.
   */
  async delete(name: string, options: DeleteSandboxOptions = {}): Promise<void> {
    const namespace = options.namespace ?? this.#c.namespace;
    await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.deleteSandbox(
        {
          name,
          namespace,
          ...(options.gracePeriodSeconds !== undefined
            ? { gracePeriodSeconds: options.gracePeriodSeconds }
            : {}),
        },
        { signal, timeoutMs },
      ),
    );
    if (!options.wait) return;
    const signal = AbortSignal.any([
      ...(options.signal ? [options.signal] : []),
      ...(options.timeoutMs !== undefined ? [AbortSignal.timeout(options.timeoutMs)] : []),
    ]);
    for await (const details of this.#watchOne(name, namespace, signal)) if (!details) return;
  }

  /**
   * Every sandbox matching, then changes, until `signal` aborts.
   *
   * @example
   * for await (const event of fsb.sandboxes.watch({ signal })) console.log(event.type, event.type !== "synced" && event.sandbox.phase);
   */
  async *watch(options: WatchSandboxesOptions = {}): AsyncGenerator<SandboxEvent> {
    const namespace = options.allNamespaces ? "*" : (options.namespace ?? this.#c.namespace);
    // Ending the iteration early does not end the HTTP stream by itself: abort it on the way out.
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    try {
      for await (const event of this.#c.rpc.watchSandboxes(
        { namespace, labelSelector: options.labelSelector ?? "" },
        { signal },
      )) {
        if (event.type === WatchEvent_Type.SYNCED) {
          yield { type: "synced" };
          continue;
        }
        const type = eventTypes[event.type];
        if (type && event.sandbox) yield { type, sandbox: toDetails(event.sandbox) };
      }
    } catch (err) {
      if (signal.aborted) return;
      throw this.#c.translate(err);
    } finally {
      stop.abort();
    }
  }

  /** The sandbox's details on every change, and `undefined` once it is deleted. */
  async *#watchOne(
    name: string,
    namespace: string,
    signal: AbortSignal,
  ): AsyncGenerator<SandboxDetails | undefined> {
    let seen = false;
    for await (const event of this.watch({ namespace, signal })) {
      if (event.type === "synced") {
        if (!seen) yield undefined;
        continue;
      }
      if (event.sandbox.name !== name) continue;
      seen = true;
      yield event.type === "deleted" ? undefined : event.sandbox;
    }
  }
}

function policy(value: "Manual" | "AutoRecreate" | undefined): FailurePolicy {
  if (value === "AutoRecreate") return FailurePolicy.AUTO_RECREATE;
  if (value === "Manual") return FailurePolicy.MANUAL;
  return FailurePolicy.UNSPECIFIED;
}

function networkRequest(network: SandboxNetworkOptions) {
  const { egress } = network;
  return {
    mode: network.mode ?? "",
    ...(egress
      ? { egress: { default: egress.default ?? "", allow: egress.allow ?? [], deny: egress.deny ?? [] } }
      : {}),
  };
}

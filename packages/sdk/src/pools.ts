/** `fsb.pools`: apply, get, list and delete SandboxPools (the pools of agents sandboxes run on). */
import type { SandboxPoolService } from "@fast-sandbox/api/gen/fastsandbox/v1/pool_pb.ts";
import type { CallContext } from "./call-context.ts";
import type { CallOptions } from "./call-options.ts";
import { FastSandboxError } from "./errors.ts";
import { type PoolDetails, toPoolDetails } from "./pool-info.ts";
import { type PoolInput, type PoolManifest, toApplyPoolRequest } from "./pool-request.ts";

/** What an apply did: `created` a new pool, `configured` (changed) an existing one, or left it `unchanged`. */
export type ApplyOutcome = "created" | "configured" | "unchanged";

/** The pool after an apply, and what the apply did. */
export interface ApplyPoolResult {
  pool: PoolDetails;
  outcome: ApplyOutcome;
}

/** Options of {@link Pools.get}. */
export interface GetPoolOptions extends CallOptions {
  namespace?: string;
}

/** Options of {@link Pools.list}. */
export interface ListPoolsOptions extends CallOptions {
  namespace?: string;
  /** Every namespace (ignores `namespace`). */
  allNamespaces?: boolean;
}

/** Options of {@link Pools.delete}. */
export interface DeletePoolOptions extends CallOptions {
  namespace?: string;
  /** Delete even while agents still run sandboxes (they are stopped once empty). */
  force?: boolean;
}

/**
 * The pools of agents that sandboxes are placed on. An apply creates a pool or replaces its spec,
 * like `kubectl apply`; the pool controller then keeps its agents between `poolMin` and `poolMax`.
 *
 * @example
 * const { outcome } = await fsb.pools.apply({
 *   name: "small-pool",
 *   spec: { capacity: { poolMin: 1, poolMax: 2 }, maxSandboxesPerPod: 2 },
 * });
 * const pools = await fsb.pools.list({ allNamespaces: true });
 * await fsb.pools.delete("small-pool", { force: true });
 */
export class Pools {
  readonly #c: CallContext<typeof SandboxPoolService>;

  constructor(context: CallContext<typeof SandboxPoolService>) {
    this.#c = context;
  }

  /**
   * Creates the pool, or replaces the spec and labels of the existing pool of that name. Unset
   * spec fields take their defaults; a spec that breaks a rule is an InvalidArgumentError naming
   * the field (`spec.capacity.poolMin`).
   *
   * @example
   * await fsb.pools.apply(yaml.parse(text)); // a SandboxPool manifest
   */
  async apply(pool: PoolManifest | PoolInput, options: CallOptions = {}): Promise<ApplyPoolResult> {
    const request = toApplyPoolRequest(pool, this.#c.namespace);
    const response = await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.applyPool(request, { signal, timeoutMs }),
    );
    if (!response.pool)
      throw new FastSandboxError("the server answered without a pool", { code: "internal" });
    const outcome = response.created ? "created" : response.changed ? "configured" : "unchanged";
    return { pool: toPoolDetails(response.pool), outcome };
  }

  /**
   * One pool with its live agents; NotFoundError when it does not exist.
   *
   * @example
   * const pool = await fsb.pools.get("default-pool");
   * console.log(pool.status.readyAgents, pool.agents.map((a) => a.id));
   */
  async get(name: string, options: GetPoolOptions = {}): Promise<PoolDetails> {
    const info = await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.getPool({ name, namespace: options.namespace ?? this.#c.namespace }, { signal, timeoutMs }),
    );
    return toPoolDetails(info);
  }

  /**
   * The pools of a namespace, or of all namespaces with `allNamespaces`.
   *
   * @example
   * for (const p of await fsb.pools.list({ allNamespaces: true })) console.log(p.namespace, p.name);
   */
  async list(options: ListPoolsOptions = {}): Promise<PoolDetails[]> {
    const response = await this.#c.unary(options, (signal, timeoutMs) =>
      this.#c.rpc.listPools(
        {
          namespace: options.namespace ?? this.#c.namespace,
          allNamespaces: options.allNamespaces ?? false,
        },
        { signal, timeoutMs },
      ),
    );
    return response.pools.map(toPoolDetails);
  }

  /**
   * Deletes a pool: its agents are drained and stopped once empty. A pool whose agents still run
   * sandboxes is refused (code `failed_precondition`) unless `force` is set.
   *
   * @example
   * await fsb.pools.delete("small-pool");
   */
  async delete(name: string, options: DeletePoolOptions = {}): Promise<void> {
    try {
      await this.#c.unary(options, (signal, timeoutMs) =>
        this.#c.rpc.deletePool(
          { name, namespace: options.namespace ?? this.#c.namespace, force: options.force ?? false },
          { signal, timeoutMs },
        ),
      );
    } catch (err) {
      // The precondition a delete can miss: the pool's agents still run sandboxes.
      if (err instanceof FastSandboxError && err.code === "failed_precondition" && !options.force) {
        throw new FastSandboxError(err.rawMessage, {
          code: err.code,
          ...(err.field ? { field: err.field } : {}),
          hint: "delete the pool's sandboxes first, or delete it with force (`--force`)",
          cause: err,
        });
      }
      throw err;
    }
  }
}

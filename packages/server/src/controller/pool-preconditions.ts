/** What a create needs of its pool before it looks for room: the pool exists in its namespace, and can serve the spec. */
import {
  DEFAULT_NETWORK_MODE,
  DEFAULT_POOL,
  ErrorCode,
  FsbError,
  type NetworkModeName,
  type SandboxPool,
  type SandboxSpec,
} from "@fast-sandbox/api";
import type { PoolCatalog } from "./pool-catalog.ts";

/**
 * Throws FAILED_PRECONDITION when the sandbox's pool does not exist in its namespace (field
 * `poolRef`), is a gVisor pool and the sandbox exposes ports (field `exposedPorts`), or does not let
 * the sandbox set its own network (field `network`). None goes away by waiting for room, so all
 * are answered before any placement.
 */
export async function checkPoolOf(catalog: PoolCatalog, namespace: string, spec: SandboxSpec): Promise<void> {
  const pool = spec.poolRef || DEFAULT_POOL;
  const hasAgents = catalog.hasAgents(namespace, pool);
  const object = await catalog.object(namespace, pool);
  if (object === undefined && !hasAgents) {
    throw missingPoolError(namespace, pool, !spec.poolRef, await catalog.namespacesOf(pool));
  }
  const refusal =
    unreachablePortsError(pool, object, spec.exposedPorts ?? [], spec.network?.mode) ??
    networkOverrideError(pool, object, spec);
  if (refusal) throw refusal;
}

/** The refusal of a create whose pool exists in `elsewhere` (other namespaces) at most. Pure. */
export function missingPoolError(
  namespace: string,
  pool: string,
  defaulted: boolean,
  elsewhere: readonly string[],
): FsbError {
  const which = defaulted ? `pool "${pool}" (the default, as poolRef is empty)` : `pool "${pool}"`;
  const others = elsewhere.filter((ns) => ns !== namespace);
  const hint =
    others.length === 0
      ? ""
      : `; a pool of that name exists in ${others.length === 1 ? "namespace" : "namespaces"} ${others
          .map((ns) => `"${ns}"`)
          .join(", ")}, but pools serve only sandboxes of their own namespace`;
  return new FsbError(
    ErrorCode.FailedPrecondition,
    `${which} does not exist in namespace "${namespace}"${hint}`,
    {
      field: "poolRef",
    },
  );
}

/**
 * A gVisor sandbox has a network only in mode isolated (runsc's stack in its own namespace); in the
 * other modes it has loopback only, so an endpoint it advertised could not be reached. Pure.
 */
export function unreachablePortsError(
  pool: string,
  object: Pick<SandboxPool, "spec"> | undefined,
  exposedPorts: readonly number[],
  sandboxMode?: NetworkModeName,
): FsbError | undefined {
  if (exposedPorts.length === 0 || object?.spec.runtimeType !== "gvisor") return undefined;
  const mode = sandboxMode ?? object.spec.network?.mode ?? DEFAULT_NETWORK_MODE;
  if (mode === "isolated") return undefined;
  return new FsbError(
    ErrorCode.FailedPrecondition,
    `pool "${pool}" runs gVisor sandboxes, which in network mode ${mode} have loopback only, so their ports cannot be reached; ` +
      "use network mode isolated (or a pool with runtimeType container) to expose ports",
    { field: "exposedPorts" },
  );
}

/**
 * A sandbox may set its own network only where its pool says so: the pool's owner chooses what its
 * sandboxes reach, not whoever creates one. A pool known only from its agents (no object) has no
 * say, so the agents' defaults and the sandbox's choice hold. Pure.
 */
export function networkOverrideError(
  pool: string,
  object: Pick<SandboxPool, "spec"> | undefined,
  spec: Pick<SandboxSpec, "network">,
): FsbError | undefined {
  if (!(spec.network?.mode || spec.network?.egress) || !object || object.spec.network?.allowSandboxOverride) {
    return undefined;
  }
  return new FsbError(
    ErrorCode.FailedPrecondition,
    `pool "${pool}" does not let sandboxes choose their network (its spec.network.allowSandboxOverride is off); ` +
      "leave network unset to get the pool's",
    { field: "network" },
  );
}

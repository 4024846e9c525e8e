/**
 * The agent's isolated networking, opened on first need: at start when sandboxes that survived a
 * restart have isolated networks, else at the first isolated create. An agent whose sandboxes all
 * use the other modes never claims a subnet, makes a bridge or writes a firewall table.
 */
import {
  type EgressSpec,
  ErrorCode,
  egressCidrs,
  egressSchema,
  FsbError,
  type NetworkModeName,
} from "@fast-sandbox/api";
import type { Logger } from "pino";
import type { ContainerRuntime } from "../containerd/container-runtime.ts";
import { hostNetTools, type NetTools } from "../network/net-tools.ts";
import {
  type DeniedCount,
  type Membership,
  preparedNetnsOf,
  SandboxNetworks,
} from "../network/sandbox-networks.ts";
import type { SandboxNetworkConfig } from "./agent-config.ts";
import type { SandboxNetworking } from "./build-oci-spec.ts";
import type { WarmContainer } from "./prewarm-template.ts";
import type { SandboxRecord } from "./sandbox-record.ts";
import type { AgentSandboxSpec, SandboxIdentity, SandboxNetworkIdentity } from "./sandbox-spec.ts";

export class AgentNetworks {
  readonly #agentId: string;
  readonly #pool: string;
  readonly #config: SandboxNetworkConfig;
  readonly #tools: NetTools;
  readonly #log: Logger;
  #opening: Promise<SandboxNetworks> | undefined;
  /** The networks once open, for what must answer synchronously. */
  #opened: SandboxNetworks | undefined;
  /**
   * The namespaces sandboxes that survived a restart hold (see {@link restore}): every open uses
   * them, so an open that failed at start and succeeds later never removes a survivor's namespace.
   */
  #survivors: ReadonlyMap<number, Membership | undefined> = new Map();

  /** The egress of isolated sandboxes whose create names none. */
  get defaultEgress(): EgressSpec {
    return this.#config.defaultEgress;
  }

  constructor(options: {
    agentId: string;
    /** The agent's pool: prepared namespaces wait in its default egress group. */
    pool: string;
    config: SandboxNetworkConfig;
    logger: Logger;
    tools?: NetTools;
  }) {
    this.#agentId = options.agentId;
    this.#pool = options.pool;
    this.#config = options.config;
    this.#tools = options.tools ?? hostNetTools;
    this.#log = options.logger;
  }

  /**
   * The networks, opened with the survivors {@link restore} found (address → rules; a prewarmed
   * container's namespace has none) if this is the first call. A failed open is not kept: the next
   * call tries again.
   */
  open(): Promise<SandboxNetworks> {
    const defaultMembership = { pool: this.#pool, egress: egressCidrs(this.#config.defaultEgress) };
    this.#opening ??= SandboxNetworks.open(
      { agentId: this.#agentId, ...this.#config, defaultMembership, tools: this.#tools, logger: this.#log },
      this.#survivors,
    ).then(
      (networks) => {
        this.#opened = networks;
        return networks;
      },
      (err: unknown) => {
        this.#opening = undefined;
        throw err;
      },
    );
    return this.#opening;
  }

  /**
   * Opens the networks at start when sandboxes that survived a restart have isolated ones, so their
   * rules are back before the agent serves (and namespaces no survivor uses are removed).
   */
  async restore(
    identities: readonly SandboxIdentity[],
    warm: readonly SandboxNetworkIdentity[],
  ): Promise<void> {
    const survivors: Map<number, Membership | undefined> = networkSurvivors(identities);
    for (const { address } of warm) if (address !== undefined) survivors.set(address, undefined);
    this.#survivors = survivors;
    if (survivors.size === 0) return;
    // Not fatal: the agent still serves its other sandboxes, and the next isolated create or delete
    // tries again (with these survivors). Their rules from the last run stay in force meanwhile.
    await this.open().catch((err: unknown) => {
      this.#log.error(
        { err },
        "could not restore the isolated sandboxes' networks; retrying at the next use",
      );
    });
  }

  /** The networks for an isolated create; FAILED_PRECONDITION naming the mode when they cannot open here. */
  forCreate(): Promise<SandboxNetworks> {
    return this.open().catch((err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      throw new FsbError(
        ErrorCode.FailedPrecondition,
        `isolated networking is unavailable on this agent: ${reason}`,
        {
          cause: err,
          field: "sandbox.network.mode",
        },
      );
    });
  }

  /**
   * The network of a container made ahead of its sandbox (a prewarmed one) in `mode`: in isolated
   * mode a namespace taken now, under the pool's default rules until a create takes the container
   * and applies its own before starting it.
   */
  async forContainer(
    mode: NetworkModeName,
  ): Promise<{ spec: SandboxNetworking; identity: SandboxNetworkIdentity }> {
    if (mode !== "isolated") return { spec: { mode }, identity: { mode } };
    const netns = await (await this.forCreate()).acquire();
    return { spec: { mode, netnsPath: netns.path }, identity: { mode, address: netns.address } };
  }

  /**
   * Gives back a deleted sandbox's namespace. A failure is logged, not thrown: the container is gone
   * either way, and the agent's next start (or the janitor, once the agent is gone) removes what stayed.
   */
  async releaseQuietly(address: number, sandboxId: string): Promise<void> {
    try {
      await (await this.open()).release(address);
    } catch (err) {
      this.#log.warn(
        { err, sandboxId },
        "could not remove the sandbox's network namespace; it stays until the agent restarts",
      );
    }
  }

  /** Gives back the namespace of a container that is gone; nothing for the other modes. */
  async release(network: SandboxNetworkIdentity | undefined): Promise<void> {
    if (network?.address !== undefined) await (await this.open()).release(network.address);
  }

  /** Holds the namespaces' background refill back while a create or exec runs; nothing while not open. */
  hold(): () => void {
    return this.#opened?.hold() ?? (() => {});
  }

  /** Refused connections by pool and reason; none while the networks are not open. */
  async deniedCounts(): Promise<DeniedCount[]> {
    const networks = await this.#opening?.catch(() => undefined);
    return networks ? networks.deniedCounts() : [];
  }

  /** Namespaces ready to hand out (0 while the networks are not open). */
  get readyCount(): number {
    return this.#opened?.readyCount ?? 0;
  }

  /** Closes what was opened (see {@link SandboxNetworks.close}); nothing when nothing was. */
  async close(): Promise<void> {
    const opening = this.#opening;
    this.#opening = undefined;
    this.#opened = undefined;
    await (await opening?.catch(() => undefined))?.close();
  }
}

/** The rules of each surviving isolated sandbox, by address, for {@link AgentNetworks.open}. */
export function networkSurvivors(identities: readonly SandboxIdentity[]): Map<number, Membership> {
  const survivors = new Map<number, Membership>();
  for (const { network, pool } of identities) {
    if (network.address === undefined) continue;
    survivors.set(network.address, { pool, egress: egressCidrs(network.egress ?? egressSchema.parse({})) });
  }
  return survivors;
}

/**
 * Creates an isolated sandbox: takes a prepared namespace and lets it reach what the sandbox's egress
 * allows while `makeContainer` makes the container in it, both at once. If either fails, the
 * container (when made) and the namespace are removed, and the error is the caller's.
 */
export async function createIsolated(
  spec: AgentSandboxSpec,
  record: SandboxRecord,
  deps: {
    networks: AgentNetworks;
    runtime: Pick<ContainerRuntime, "delete">;
    makeContainer: (network: SandboxNetworking) => Promise<void>;
  },
): Promise<void> {
  const networks = await deps.networks.forCreate();
  const netns = await networks.acquire();
  // Always recorded, so a restart restores these rules even if the agent's defaults changed since.
  const egress = spec.network?.egress ?? deps.networks.defaultEgress;
  record.identity.network = {
    mode: "isolated",
    address: netns.address,
    egress,
  };
  // The rules first: the container's process starts with the create, and must never run under a
  // namespace's waiting rules (the pool's defaults). With the defaults this changes nothing and
  // costs nothing: a prepared namespace is in their group already.
  try {
    await networks.allow(netns, { pool: record.identity.pool, egress: egressCidrs(egress) });
    await deps.makeContainer({ mode: "isolated", netnsPath: netns.path });
  } catch (err) {
    await networks.release(netns.address);
    throw err;
  }
}

/** The network a create gets with the prewarmed container it takes: the container's, with the create's egress. */
export function takenNetwork(
  spec: AgentSandboxSpec,
  warm: WarmContainer,
  networks: AgentNetworks,
): SandboxNetworkIdentity {
  if (warm.network.address === undefined) return warm.network;
  return { ...warm.network, egress: spec.network?.egress ?? networks.defaultEgress };
}

/** Lets a taken prewarmed container's namespace reach what the sandbox's egress allows (isolated mode only). */
export async function allowTaken(networks: AgentNetworks, identity: SandboxIdentity): Promise<void> {
  const { address } = identity.network;
  if (address === undefined) return;
  const egress = egressCidrs(identity.network.egress ?? networks.defaultEgress);
  await (await networks.open()).allow(preparedNetnsOf(address), {
    pool: identity.pool,
    egress,
  });
}

/** What the registry knows about one agent, as registered or refreshed from its status probe. */
import type { NetworkModeName } from "@fast-sandbox/api";

/** One agent process: it owns `capacity` sandbox slots on a node, and its sandboxes share its network namespace. */
export interface AgentInfo {
  id: string;
  /** IP or host name; ports are unique per address, and several agents may share one. */
  address: string;
  /** HTTP base URL of the agent API, such as `http://10.0.0.7:5758`. */
  url: string;
  nodeName: string;
  pool: string;
  namespace: string;
  /** Sandbox slots; may drop below the allocated count, which only leaves the agent without a free slot. */
  capacity: number;
  /** Cached images; the registry stores them normalised (`alpine` → `docker.io/library/alpine:latest`). */
  images: readonly string[];
  healthy: boolean;
  /** Draining agents keep their sandboxes but take no new ones. */
  draining?: boolean;
  /** When the agent last answered a probe, in milliseconds since the epoch. */
  lastHeartbeat: number;
  /** `container` or `gvisor`. */
  runtime?: string;
  /**
   * The network mode of its sandboxes that name none. Only mode `agent` shares the agent's address,
   * so only there are exposed ports booked per address; unset is `agent` (agents that predate modes).
   */
  networkMode?: NetworkModeName;
  /** Prewarmed containers ready to be taken, by prewarm key (see `prewarmKey`). */
  prewarm?: Readonly<Record<string, number>>;
}

/** An agent as the registry reports it: its info plus its allocations. */
export interface AgentSnapshot extends AgentInfo {
  /** Allocations on the agent; may exceed `capacity` after a shrink or a restore. */
  allocated: number;
  /**
   * True for an agent known only from restored allocations: it has not registered yet, so it
   * has no address, pool or capacity, and takes no new sandboxes until it does.
   */
  placeholder: boolean;
}

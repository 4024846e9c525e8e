/** The end-to-end benchmark's three create paths: fast and strong through fsb-controller's API, and the direct containerd floor. */

import { rm } from "node:fs/promises";
import path from "node:path";
import type { Client } from "@connectrpc/connect";
import { ConsistencyMode, type FastPathService } from "../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { parseCreateRequest } from "../packages/server/src/agent/agent-requests.ts";
import type { ContainerdConnection } from "../packages/server/src/containerd/connection.ts";
import type { ContainerRuntime } from "../packages/server/src/containerd/container-runtime.ts";
import type { ResolvedImage } from "../packages/server/src/containerd/image-resolver.ts";
import { TEST_IMAGE } from "../test/harness/constants.ts";
import { FLOOR_SNAPSHOTTER, floorCreate } from "./floor-create.ts";

/** What every sandbox runs: long enough that nothing exits during a run. */
export const COMMAND = ["sleep", "3600"];
/** Sandboxes live in the namespace of the controller's default pool (pools are namespaced). */
export const SANDBOX_NAMESPACE = "default";
/** The pool the controller's local agents serve; the floor labels its containers with it too. */
const POOL = "default-pool";
export const SNAPSHOTTER = FLOOR_SNAPSHOTTER;
/** Bound on one API or containerd call; a create takes ~100 ms, so this only catches hangs. */
const CALL_TIMEOUT_MS = 30_000;
/** How often a delete checks whether its sandboxes are gone (untimed). */
const GONE_POLL_MS = 20;
/** A delete whose sandboxes are still listed after this long has failed. */
const GONE_TIMEOUT_MS = 60_000;

export type PathName = "fast" | "strong" | "floor";

/** One timed create: its latency at the client and where the sandbox landed. */
export interface CreateSample {
  ms: number;
  /** The agent (fast, strong) or floor shim group the sandbox ran on. */
  placedOn: string;
  /** The server's own account of the call (CreateResponse.create_latency_ms); API paths only. */
  serverMs?: number;
}

/** One way of getting a running sandbox: a timed create and an untimed removal. */
export interface E2ePath {
  name: PathName;
  /**
   * Creates and starts sandbox `id`. `lane` picks the floor's shim group (the controller places
   * API creates itself, least loaded first, which spreads a burst evenly over its agents).
   */
  create(id: string, lane: number): Promise<CreateSample>;
  /** Removes the sandboxes and resolves once they are gone, so their slots are free again. */
  remove(ids: readonly string[]): Promise<void>;
}

type FastPathClient = Client<typeof FastPathService>;

/** Paths 1 and 2: CreateSandbox in the given mode, timed from the call until the response is decoded. */
export function apiPath(client: FastPathClient, name: "fast" | "strong"): E2ePath {
  const consistencyMode = name === "fast" ? ConsistencyMode.FAST : ConsistencyMode.STRONG;
  return {
    name,
    async create(id) {
      const request = {
        name: id,
        namespace: SANDBOX_NAMESPACE,
        image: TEST_IMAGE,
        command: COMMAND,
        consistencyMode,
      };
      const started = performance.now();
      const response = await client.createSandbox(request, { timeoutMs: CALL_TIMEOUT_MS });
      const ms = performance.now() - started;
      const sandbox = response.sandbox;
      if (!response.created || sandbox?.phase !== "Running") {
        throw new Error(
          `${name} create of ${id} answered created=${response.created}, phase ${sandbox?.phase}`,
        );
      }
      return { ms, placedOn: sandbox.agent, serverMs: response.createLatencyMs };
    },
    async remove(ids) {
      await Promise.all(
        ids.map((id) =>
          client.deleteSandbox(
            { name: id, namespace: SANDBOX_NAMESPACE, gracePeriodSeconds: 0 },
            { timeoutMs: CALL_TIMEOUT_MS },
          ),
        ),
      );
      await waitGone(client, ids);
    },
  };
}

/** DeleteSandbox only marks the object; the reconciler removes the container, frees the slot, then the object. */
async function waitGone(client: FastPathClient, ids: readonly string[]): Promise<void> {
  const wanted = new Set(ids);
  const deadline = Date.now() + GONE_TIMEOUT_MS;
  for (;;) {
    const { sandboxes } = await client.listSandboxes(
      { namespace: SANDBOX_NAMESPACE },
      { timeoutMs: CALL_TIMEOUT_MS },
    );
    const left = sandboxes.filter((s) => wanted.has(s.name));
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `sandboxes still present ${GONE_TIMEOUT_MS} ms after delete: ${left.map((s) => s.name)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, GONE_POLL_MS));
  }
}

/** The floor's stand-in for agent `lane`: its containers share one shim, as an agent's do. */
export function floorAgentId(lane: number): string {
  return `e2e-floor-${lane}`;
}

/**
 * Path 3, the floor: only the four containerd calls a create cannot do without (Prepare,
 * Containers.Create, Tasks.Create, Tasks.Start), in this process, with the spec, labels and
 * shim-group annotation an agent would send (built untimed) and the image resolved once, untimed.
 * The snapshot is a GC root, as the agent's ContainerRuntime prepares it, so no lease is needed.
 */
export function floorPath(
  conn: ContainerdConnection,
  runtime: ContainerRuntime,
  image: ResolvedImage,
  logDir: string,
): E2ePath {
  const logPath = (id: string) => path.join(logDir, `${id}.log`);
  return {
    name: "floor",
    async create(id, lane) {
      const agentId = floorAgentId(lane);
      const spec = parseCreateRequest({
        sandbox: {
          sandboxId: id,
          name: id,
          namespace: SANDBOX_NAMESPACE,
          pool: POOL,
          image: TEST_IMAGE,
          command: COMMAND,
        },
      });
      const ms = await floorCreate(conn, image, spec, { agentId, pool: POOL, logPath: logPath(id) });
      return { ms, placedOn: agentId };
    },
    async remove(ids) {
      await Promise.all(
        ids.map(async (id) => {
          await runtime.delete(id, { gracePeriodMs: 0 });
          await rm(logPath(id), { force: true });
        }),
      );
    },
  };
}

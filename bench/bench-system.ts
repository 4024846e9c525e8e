/**
 * A whole standalone system for the system benchmarks (density, leaks): the `npm start` entry
 * (fsb-standalone) with its own state dir, private containerd and ports, so a benchmark measures
 * exactly what a user runs; plus the readings those benchmarks take (processes, leftovers) and a
 * teardown by PID.
 */
import { cp, mkdir, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { isManagedContainer, Labels, managedByValue } from "@fast-sandbox/api";
import { FastPathService } from "../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { ContainerdConnection } from "../packages/server/src/containerd/connection.ts";
import { ContainerRuntime } from "../packages/server/src/containerd/container-runtime.ts";
import {
  cleanupSite,
  logFiles,
  type StandaloneProcess,
  type StandaloneSite,
  sitePids,
  standaloneSite,
  startStandalone,
} from "../test/harness/standalone-process.ts";
import { shimPids } from "./process-memory.ts";

/** The containerd namespace fsb-standalone runs its agents in. */
const NAMESPACE = "k8s.io";

/** Options of {@link startBenchSystem}. */
export interface BenchSystemOptions {
  agents: number;
  capacity: number;
  /** More controller flags (the pool's buffers, say). */
  extraArgs?: string[];
  say: (message: string) => void;
}

/** What is left of the system's work, counted from every place that could hold it. */
export interface Leftovers {
  /** Sandbox containers (provably ours, with a sandbox id) in containerd. */
  containers: number;
  /** Their tasks. */
  tasks: number;
  /** Snapshots labelled managed-by Fast Sandbox, other than those of agents' own containers. */
  snapshots: number;
  /** Shim processes beyond one per agent (each agent keeps exactly one shim alive for its group). */
  extraShims: number;
  /** Files in the agents' log directory. */
  logFiles: number;
  /** Sandbox slots the controller's registry still holds. */
  registrySlots: number;
  /** Exposed ports the controller's registry still holds. */
  registryPorts: number;
  /** Sandbox rows in the controller's SQLite store. */
  storeRecords: number;
  /** Sandboxes ListSandboxes still answers with. */
  listed: number;
}

export type ProcessRole = "controller" | "agents" | "shims" | "containerd" | "janitor";

export interface BenchSystem {
  site: StandaloneSite;
  standalone: StandaloneProcess;
  /** A gRPC (HTTP/2) client with the system's token. */
  grpc: Client<typeof FastPathService>;
  token: string;
  url: string;
  socketPath: string;
  runtime: ContainerRuntime;
  logDir: string;
  /** PIDs of the system's own processes, by role (the controller runs in the standalone process). */
  processes(): Promise<Record<ProcessRole, number[]>>;
  leftovers(): Promise<Leftovers>;
  /** Copies the system's logs (its own, the janitor's, the agents', containerd's) to `dir`, for a failed run. */
  saveLogs(dir: string): Promise<void>;
  /** Stops the system (Ctrl-C), removes every container it left and its state dir. */
  close(): Promise<void>;
}

export async function startBenchSystem(options: BenchSystemOptions): Promise<BenchSystem> {
  const site = await standaloneSite();
  site.args.push(
    "--local-agents",
    String(options.agents),
    "--pool-max",
    String(options.agents),
    "--local-agent-capacity",
    String(options.capacity),
    ...(options.extraArgs ?? []),
  );
  let standalone: StandaloneProcess;
  try {
    standalone = await startStandalone(site);
  } catch (err) {
    await cleanupSite(site);
    throw err;
  }
  const token = (await readFile(path.join(site.stateDir, "api-token"), "utf8")).trim();
  const url = `http://127.0.0.1:${site.ports.api}`;
  const grpc = createClient(
    FastPathService,
    createGrpcTransport({
      baseUrl: url,
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${token}`);
          return next(req);
        },
      ],
    }),
  );
  const socketPath = path.join(site.stateDir, "containerd/containerd.sock");
  const conn = new ContainerdConnection({ socketPath, namespace: NAMESPACE });
  const system: BenchSystem = {
    site,
    standalone,
    grpc,
    token,
    url,
    socketPath,
    runtime: new ContainerRuntime(conn),
    logDir: path.join(site.stateDir, "controller/logs"),
    async processes() {
      const pids = sitePids(site);
      return {
        controller: [standalone.pid],
        agents: Object.values(pids.agents),
        shims: await shimPids(socketPath),
        containerd: pids.containerd === undefined ? [] : [pids.containerd],
        janitor: pids.janitor === undefined ? [] : [pids.janitor],
      };
    },
    leftovers: () => countLeftovers(system),
    async saveLogs(dir) {
      await mkdir(dir, { recursive: true });
      for (const file of logFiles(site.stateDir)) {
        await cp(file, path.join(dir, path.basename(file)), { recursive: true }).catch(() => {});
      }
    },
    async close() {
      conn.close();
      await standalone.interrupt();
      await cleanupSite(site);
    },
  };
  const pids = await system.processes();
  options.say(
    `fsb-standalone pid ${standalone.pid} on ${url} (state ${site.stateDir}): containerd ${pids.containerd}, ` +
      `agents ${pids.agents.join(", ")}, janitor ${pids.janitor}`,
  );
  return system;
}

async function countLeftovers(system: BenchSystem): Promise<Leftovers> {
  const containers = await system.runtime.list({ [Labels.ManagedBy]: managedByValue });
  const sandboxes = containers.filter((c) => isManagedContainer(c.labels, c.id));
  const others = new Set(containers.filter((c) => !isManagedContainer(c.labels, c.id)).map((c) => c.id));
  const snapshots = await system.runtime.listSnapshots({ [Labels.ManagedBy]: managedByValue });
  const agents = Object.keys(sitePids(system.site).agents).length;
  const metrics = await (await fetch(`http://127.0.0.1:${system.site.ports.metrics}/metrics`)).text();
  const { sandboxes: listed } = await system.grpc.listSandboxes({ namespace: "*" });
  return {
    containers: sandboxes.length,
    tasks: sandboxes.filter((c) => c.task.state !== "missing").length,
    snapshots: snapshots.filter((key) => !others.has(key)).length,
    extraShims: Math.max(0, (await shimPids(system.socketPath)).length - agents),
    logFiles: (await readdir(system.logDir).catch(() => [] as string[])).length,
    registrySlots: gauge(metrics, 'fsb_registry_slots{state="used"}'),
    registryPorts: gauge(metrics, 'fsb_registry_ports{state="booked"}'),
    storeRecords: storeSandboxRows(path.join(system.site.stateDir, "controller/store/store.db")),
    listed: listed.length,
  };
}

/** A gauge's value from a Prometheus text exposition; NaN when absent, so a missing metric never reads as 0. */
function gauge(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

/** Sandbox rows in the store, read straight from SQLite (WAL mode lets a reader in beside the controller). */
function storeSandboxRows(file: string): number {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const row = db.prepare("SELECT count(*) AS n FROM objects WHERE kind = 'Sandbox'").get() as { n: number };
    return Number(row.n);
  } finally {
    db.close();
  }
}

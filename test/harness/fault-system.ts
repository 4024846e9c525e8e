/**
 * A system to break on purpose: a containerd of its own (so a test may stop it), a controller with
 * local agents and a janitor scanning every second; a burst of creates a fault can land in; and the
 * two checks every fault must pass: no record lost, and nothing left over once the janitor has been.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ConnectError } from "@connectrpc/connect";
import { isAnchorContainer, isManagedContainer, Labels, managedByValue } from "@fast-sandbox/api";
import { pino } from "pino";
import { ConsistencyMode } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { ContainerRuntime } from "../../packages/server/src/containerd/container-runtime.ts";
import { freePort } from "../../packages/server/src/core/free-port.ts";
import {
  type JanitorProcess,
  startJanitorProcess,
} from "../../packages/server/src/janitor/janitor-process.ts";
import { PrivateContainerd } from "../../packages/server/src/standalone/private-containerd.ts";
import { TEST_IMAGE_BASE, TEST_IMAGE_TAR } from "./constants.ts";
import { type ControllerProcess, startControllerProcess } from "./controller-process.ts";
import { eventually } from "./leftovers.ts";

const root = path.resolve(import.meta.dirname, "../..");
const NAMESPACE = "fsb-faults";
/** Fast enough that a fault plays out in seconds; the loss timeout is what freezes are measured against. */
export const PROBE_INTERVAL_MS = 300;
export const LOSS_TIMEOUT_MS = 3000;
const ORPHAN_TIMEOUT = "2s";
/** How long a system may take to heal after a fault: agents restart, containers are adopted or collected. */
const HEAL_TIMEOUT_MS = 45_000;

/** The containerd every fault test of a file shares; stopped (and its leftovers removed) in `after`. */
export async function startFaultContainerd(): Promise<PrivateContainerd> {
  const containerd = new PrivateContainerd({ dir: await mkdtemp(path.join(os.tmpdir(), "fsb-faults-")) });
  await containerd.start();
  await containerd.importImage(path.join(root, TEST_IMAGE_TAR), TEST_IMAGE_BASE, NAMESPACE);
  return containerd;
}

/** Removes every container the containerd still holds, stops it and removes its directory. */
export async function stopFaultContainerd(containerd: PrivateContainerd): Promise<void> {
  const conn = containerd.connect(NAMESPACE);
  try {
    const runtime = new ContainerRuntime(conn);
    for (const c of await runtime.list({}).catch(() => [])) await runtime.delete(c.id, { gracePeriodMs: 0 });
  } finally {
    conn.close();
  }
  await containerd.stop();
  await rm(containerd.dir, { recursive: true, force: true });
}

export interface FaultSystem {
  containerd: PrivateContainerd;
  ctl: ControllerProcess;
  janitor: JanitorProcess;
  runtime: ContainerRuntime;
  logDir: string;
  /** Restarts the controller on the same data dir and ports (after a kill -9). */
  restartController(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultSystem(containerd: PrivateContainerd): Promise<FaultSystem> {
  const options = {
    socketPath: containerd.socketPath,
    localAgents: 2,
    capacity: 16,
    probeInterval: `${PROBE_INTERVAL_MS}ms`,
    lossTimeout: `${LOSS_TIMEOUT_MS}ms`,
    orphanTimeout: ORPHAN_TIMEOUT,
    extraArgs: ["--containerd-namespace", NAMESPACE],
  };
  const ctl = await startControllerProcess(options);
  const logDir = path.join(ctl.dataDir, "logs");
  const janitor = await startJanitorProcess({
    controllerUrl: ctl.url,
    token: ctl.token,
    containerdSocket: containerd.socketPath,
    containerdNamespace: NAMESPACE,
    containerdState: path.join(containerd.dir, "state"),
    logDir,
    metricsBindAddress: `127.0.0.1:${await freePort()}`,
    outputFile: path.join(ctl.dataDir, "janitor.log"),
    pidFile: path.join(ctl.dataDir, "janitor.pid"),
    extraArgs: ["--scan-interval", "1s", "--orphan-timeout", ORPHAN_TIMEOUT],
    logger: pino({ level: "silent" }),
  });
  await janitor.ready();
  const conn = containerd.connect(NAMESPACE);
  const system: FaultSystem = {
    containerd,
    ctl,
    janitor,
    runtime: new ContainerRuntime(conn),
    logDir,
    async restartController() {
      system.ctl = await startControllerProcess({ ...options, reuse: system.ctl });
    },
    async close() {
      await janitor.stop();
      await system.ctl.cleanup();
      conn.close();
    },
  };
  return system;
}

/** How each create of a burst ended. */
export interface BurstOutcome {
  /** Names whose create answered, with the sandbox id it answered. */
  created: Map<string, string>;
  /** Names whose create failed, with the gRPC code's name. */
  failed: Map<string, string>;
}

/**
 * `count` creates, `concurrency` in flight, alternating fast and strong; `fault` runs (without
 * holding up the creates) once `faultAfter` of them have answered.
 */
export async function burst(
  system: FaultSystem,
  options: {
    prefix: string;
    count: number;
    concurrency: number;
    faultAfter: number;
    fault: () => Promise<void>;
  },
): Promise<BurstOutcome> {
  const outcome: BurstOutcome = { created: new Map(), failed: new Map() };
  let next = 0;
  let answered = 0;
  let faulting: Promise<void> | undefined;
  const lane = async () => {
    while (next < options.count) {
      const i = next++;
      const name = `${options.prefix}-${i}`;
      const consistencyMode = i % 2 === 0 ? ConsistencyMode.FAST : ConsistencyMode.STRONG;
      try {
        const { sandbox } = await system.ctl.client.createSandbox(
          { name, image: "busybox", command: ["sleep", "600"], consistencyMode },
          { timeoutMs: 30_000 },
        );
        outcome.created.set(name, sandbox?.sandboxId ?? "");
      } catch (err) {
        outcome.failed.set(name, err instanceof ConnectError ? String(err.code) : String(err));
      }
      if (++answered === options.faultAfter) faulting = options.fault();
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  await faulting;
  return outcome;
}

/** What the system holds: records by name, and the sandbox containers in containerd. */
async function observe(system: FaultSystem) {
  const { sandboxes } = await system.ctl.client.listSandboxes({ namespace: "*" });
  const containers = (await system.runtime.list({ [Labels.ManagedBy]: managedByValue })).filter(
    (c) => !isAnchorContainer(c.labels, c.id),
  );
  const snapshots = await system.runtime.listSnapshots({ [Labels.ManagedBy]: managedByValue });
  return { sandboxes, containers, snapshots };
}

/**
 * No record lost: every create that answered is listed and Running again. No leak, once the janitor
 * has been: every sandbox container belongs to a Running record (the one its sandbox-id label names)
 * and runs, and every snapshot of ours belongs to a container. Waits for the system to heal.
 */
export async function assertHealedWithoutLoss(system: FaultSystem, outcome: BurstOutcome): Promise<void> {
  const verdict = async () => {
    const { sandboxes, containers, snapshots } = await observe(system);
    const byName = new Map(sandboxes.map((s) => [s.name, s]));
    const problems: string[] = [];
    for (const name of outcome.created.keys()) {
      const s = byName.get(name);
      if (!s) problems.push(`${name}: answered created, but has no record`);
      else if (s.phase !== "Running") problems.push(`${name}: ${s.phase}`);
    }
    const running = new Set(sandboxes.filter((s) => s.phase === "Running").map((s) => s.sandboxId));
    for (const s of sandboxes) if (s.phase !== "Running") problems.push(`${s.name}: ${s.phase}`);
    const containerIds = new Set(containers.map((c) => c.id));
    for (const c of containers) {
      const sandboxId = c.labels[Labels.SandboxId] ?? c.id;
      if (!isManagedContainer(c.labels, c.id) || !running.has(sandboxId)) {
        problems.push(`container ${c.id} has no Running record`);
      } else if (c.task.state !== "running") problems.push(`container ${c.id} is ${c.task.state}`);
    }
    for (const key of snapshots)
      if (!containerIds.has(key)) problems.push(`snapshot ${key} has no container`);
    return problems;
  };
  const problems = await eventually(verdict, (p) => p.length === 0, HEAL_TIMEOUT_MS);
  assert.deepEqual(problems, [], `the system did not heal within ${HEAL_TIMEOUT_MS} ms`);
}

/** Once healed, the system serves again: a few more creates, fast and strong, all succeed. */
export async function assertServesAgain(system: FaultSystem): Promise<void> {
  const after = await burst(system, {
    prefix: "healed",
    count: 4,
    concurrency: 2,
    faultAfter: 0,
    fault: async () => {},
  });
  assert.deepEqual([...after.failed], [], "creates after the system healed");
  await assertHealedWithoutLoss(system, after);
}

/** Deletes every sandbox, then asserts that no record, container, snapshot, slot or log file is left. */
export async function assertDeletesLeaveNothing(system: FaultSystem): Promise<void> {
  const { client } = system.ctl;
  for (const s of (await client.listSandboxes({ namespace: "*" })).sandboxes) {
    await client.deleteSandbox({ name: s.name, namespace: s.namespace, gracePeriodSeconds: 0 });
  }
  const left = await eventually(
    async () => {
      const { sandboxes, containers, snapshots } = await observe(system);
      const metrics = await (await fetch(`http://127.0.0.1:${system.ctl.ports.metrics}/metrics`)).text();
      const slots = /fsb_registry_slots\{state="used"\} (\d+)/.exec(metrics)?.[1];
      const logs = await readdir(system.logDir).catch(() => [] as string[]);
      return {
        records: sandboxes.length,
        containers: containers.length,
        snapshots: snapshots.length,
        slots: Number(slots ?? Number.NaN),
        logFiles: logs.length,
      };
    },
    (l) => Object.values(l).every((n) => n === 0),
    HEAL_TIMEOUT_MS,
  );
  assert.deepEqual(left, { records: 0, containers: 0, snapshots: 0, slots: 0, logFiles: 0 });
}

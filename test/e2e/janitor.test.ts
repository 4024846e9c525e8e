// The node janitor against the real containerd and a real controller: planted orphans and leftovers go
// within one scan; live sandboxes, unlabelled and prewarmed containers stay.
//
// It runs in a containerd namespace of its own: a janitor judges every container of its namespace,
// and in the shared test namespace it would (rightly) remove other test files' containers, whose
// agents its controller does not know.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Labels, managedByValue } from "@fast-sandbox/api";
import { pino } from "pino";
import { ConsistencyMode } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { ContainerRuntime } from "../../packages/server/src/containerd/container-runtime.ts";
import { withImageConfig } from "../../packages/server/src/containerd/image-config-option.ts";
import { ImageResolver, type ResolvedImage } from "../../packages/server/src/containerd/image-resolver.ts";
import { withCgroupsPath, withHostNetwork } from "../../packages/server/src/containerd/linux-options.ts";
import { buildSpec } from "../../packages/server/src/containerd/oci-spec.ts";
import { SHIM_GROUP_ANNOTATION, withShimGroup } from "../../packages/server/src/containerd/spec-options.ts";
import { freePort } from "../../packages/server/src/core/free-port.ts";
import { SNAPSHOT_GC_ROOT_LABEL } from "../../packages/server/src/janitor/classify-leftovers.ts";
import { ControllerOwnershipSource } from "../../packages/server/src/janitor/controller-ownership-source.ts";
import { JanitorMetrics } from "../../packages/server/src/janitor/janitor-metrics.ts";
import {
  type Finding,
  NodeJanitor,
  type ScanReport,
} from "../../packages/server/src/janitor/node-janitor.ts";
import { Ownership, type OwnershipSource } from "../../packages/server/src/janitor/ownership.ts";
import { bundlePath } from "../../packages/server/src/janitor/task-bundles.ts";
import { PrivateContainerd } from "../../packages/server/src/standalone/private-containerd.ts";
import { TEST_IMAGE, TEST_IMAGE_BASE, TEST_IMAGE_TAR } from "../harness/constants.ts";
import { testContainerdSocket } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually, leftoversOf, nothingLeft } from "../harness/leftovers.ts";

const root = path.resolve(import.meta.dirname, "../..");
const janitorEntry = path.join(root, "packages/server/src/bin/fsb-janitor.ts");
const HOUR_MS = 3_600_000;
const LONG_AGO = new Date(Date.now() - 2 * HOUR_MS);

describe("node janitor", () => {
  const tag = randomBytes(3).toString("hex");
  const namespace = `fsb-janitor-${process.pid}`;
  let socket: string;
  let stateDir: string;
  let conn: ContainerdConnection;
  let runtime: ContainerRuntime;
  let image: ResolvedImage;
  let ctl: ControllerProcess;
  let logDir: string;
  let agentId: string;
  const planted = new Set<string>();
  const plantedDirs = new Set<string>();

  const newId = (name: string) => `${name}-${randomBytes(4).toString("hex")}`;

  /** The labels an agent gives a sandbox container, with overrides. */
  const ownLabels = (id: string, overrides: Record<string, string> = {}) => ({
    [Labels.ManagedBy]: managedByValue,
    [Labels.SandboxId]: id,
    [Labels.Name]: id.split("-")[0]!,
    [Labels.Namespace]: "default",
    [Labels.Uid]: `uid-${id}`,
    [Labels.Agent]: agentId,
    [Labels.Pool]: "default-pool",
    [Labels.Image]: TEST_IMAGE,
    [Labels.CreatedAt]: LONG_AGO.toISOString(),
    [Labels.LogPath]: path.join(logDir, `${id}.log`),
    ...overrides,
  });

  /** Creates a `sleep` container straight in containerd, as an agent would; started unless it is a prewarm. */
  const plant = async (id: string, labels: Record<string, string>): Promise<string> => {
    planted.add(id);
    await runtime.create({
      id,
      image,
      spec: buildSpec(
        withImageConfig(image.config, { command: ["sleep", "600"] }),
        withHostNetwork(),
        withCgroupsPath(`/fsb-janitor-test/${id}`),
        withShimGroup(`jt-${tag}`),
      ),
      labels,
      logPath: path.join(logDir, `${id}.log`),
      start: labels[Labels.Prewarm] !== "true",
    });
    return id;
  };

  /** A file in the log dir, last written `modified`. */
  const plantLog = async (id: string, modified: Date): Promise<string> => {
    const file = path.join(logDir, `${id}.log`);
    await mkdir(logDir, { recursive: true });
    await writeFile(file, "output of a sandbox long gone\n");
    await utimes(file, modified, modified);
    return file;
  };

  /** A task bundle directory with no container, as a failed create leaves it. */
  const plantBundle = async (id: string, group: string, agent = agentId): Promise<string> => {
    const dir = bundlePath(stateDir, namespace, id);
    plantedDirs.add(dir);
    await mkdir(path.join(dir, "rootfs"), { recursive: true });
    const spec = {
      annotations: { [SHIM_GROUP_ANNOTATION]: group },
      linux: { cgroupsPath: `/fast-sandbox/${agent}/${id}` },
    };
    await writeFile(path.join(dir, "config.json"), JSON.stringify(spec));
    await utimes(dir, LONG_AGO, LONG_AGO);
    return dir;
  };

  const janitor = (
    options: { dryRun?: boolean; orphanTimeoutMs?: number; ownership?: OwnershipSource } = {},
  ) => {
    const metrics = new JanitorMetrics();
    const scanner = new NodeJanitor({
      connection: conn,
      ownership: options.ownership ?? new ControllerOwnershipSource({ endpoint: ctl.url, token: ctl.token }),
      logger: pino({ level: "silent" }),
      metrics,
      // Zero, so live sandboxes created a moment ago are judged by ownership, not spared for youth.
      orphanTimeoutMs: options.orphanTimeoutMs ?? 0,
      logDir,
      logRetentionMs: HOUR_MS,
      containerdState: stateDir,
      dryRun: options.dryRun ?? false,
    });
    return { scanner, metrics };
  };

  const exists = async (id: string) => (await leftoversOf(conn, id)).container;
  const verdictOf = (report: ScanReport, id: string) => report.containers.find((c) => c.id === id)?.verdict;
  const findingOf = (report: ScanReport, id: string): Finding | undefined =>
    report.findings.find((f) => f.id === id);
  const removeAll = async (...ids: string[]) => {
    for (const id of ids) await runtime.delete(id, { gracePeriodMs: 0 });
  };

  before(async () => {
    socket = await testContainerdSocket();
    stateDir = path.join(path.dirname(socket), "state");
    await PrivateContainerd.importImageTo(
      socket,
      path.join(root, TEST_IMAGE_TAR),
      TEST_IMAGE_BASE,
      namespace,
    );
    conn = new ContainerdConnection({ socketPath: socket, namespace });
    runtime = new ContainerRuntime(conn);
    image = await new ImageResolver(conn).resolve(TEST_IMAGE);
    ctl = await startControllerProcess({
      socketPath: socket,
      localAgents: 1,
      capacity: 4,
      extraArgs: ["--containerd-namespace", namespace],
    });
    logDir = path.join(ctl.dataDir, "logs");
    agentId = `${ctl.agentPrefix}-0`;
    // The controller keeps its agent list back until agents have had the loss timeout to re-register.
    await eventually(
      async () =>
        (await fetch(`${ctl.url}/api/v1/agents`, { headers: { authorization: `Bearer ${ctl.token}` } }))
          .status,
      (status) => status === 200,
      15_000,
    );
  });

  after(async () => {
    await ctl?.cleanup();
    for (const id of planted) await runtime.delete(id, { gracePeriodMs: 0 });
    for (const dir of plantedDirs) await rm(dir, { recursive: true, force: true });
    const left = runtime ? await runtime.list({}) : [];
    // A failed check must not leave them running beyond the test run: remove them, then report them.
    for (const c of left) await runtime.delete(c.id, { gracePeriodMs: 0 }).catch(() => {});
    conn?.close();
    assert.deepEqual(
      left.map((c) => c.id),
      [],
      "containers left in the janitor's namespace",
    );
  });

  it("removes nothing while the controller is unreachable", async () => {
    const orphan = newId("ghost");
    await plant(orphan, ownLabels(orphan));
    const log = await plantLog(newId("gone"), LONG_AGO);
    const down = new ControllerOwnershipSource({
      endpoint: `http://127.0.0.1:${await freePort()}`,
      token: ctl.token,
      readTimeoutMs: 2000,
    });
    const { scanner, metrics } = janitor({ ownership: down });

    const report = await scanner.scan();

    assert.equal(report.ownership, "unavailable");
    assert.deepEqual(report.findings, []);
    assert.ok(await exists(orphan), "the orphan went while ownership was unknown");
    assert.ok(existsSync(log), "the leftover log went while ownership was unknown");
    assert.match(
      await metrics.registry.metrics(),
      /fsb_janitor_scans_total\{result="ownership_unavailable"\} 1/,
    );
    await removeAll(orphan);
    await rm(log);
  });

  it("--dry-run reports orphans and leftovers and removes nothing", async () => {
    const orphan = newId("ghost");
    await plant(orphan, ownLabels(orphan));
    const log = await plantLog(newId("gone"), LONG_AGO);
    const { scanner, metrics } = janitor({ dryRun: true });

    const report = await scanner.scan();

    assert.equal(report.ownership, "ok");
    assert.deepEqual(findingOf(report, orphan), {
      kind: "container",
      id: orphan,
      reason: "object-gone",
      outcome: "dry-run",
    });
    assert.equal(findingOf(report, path.basename(log, ".log"))?.outcome, "dry-run");
    assert.ok(await exists(orphan));
    assert.equal((await runtime.taskStatus(orphan)).state, "running");
    assert.ok(existsSync(log));
    const text = await metrics.registry.metrics();
    assert.match(text, /fsb_janitor_orphans_found_total\{reason="object-gone"\} 1/);
    assert.doesNotMatch(text, /fsb_janitor_orphans_removed_total\{/);
    await removeAll(orphan);
    await rm(log);
  });

  it("keeps an orphan younger than the orphan timeout", async () => {
    const young = newId("ghost");
    await plant(young, ownLabels(young, { [Labels.CreatedAt]: new Date().toISOString() }));
    const { scanner } = janitor({ orphanTimeoutMs: 10_000 });

    const report = await scanner.scan();

    assert.deepEqual(verdictOf(report, young), { action: "keep", reason: "young" });
    assert.equal(findingOf(report, young), undefined);
    assert.ok(await exists(young));
    await removeAll(young);
  });

  it("re-checks before removing: an orphan that gained an owner, or vanished, is left alone", async () => {
    const adopted = newId("ghost");
    const vanished = newId("ghost");
    await plant(adopted, ownLabels(adopted));
    await plant(vanished, ownLabels(vanished));
    const real = new ControllerOwnershipSource({ endpoint: ctl.url, token: ctl.token });
    let reads = 0;
    // The first read sees neither owned; before the re-check one container vanishes and the
    // other gets an object (as a fast create's object would arrive).
    const racing: OwnershipSource = {
      async read(signal) {
        reads++;
        if (reads === 1) {
          await runtime.delete(vanished, { gracePeriodMs: 0 });
          return real.read(signal);
        }
        const owner = { namespace: "default", name: "ghost", uid: `uid-${adopted}`, sandboxId: adopted };
        return new Ownership({ sandboxes: [owner], agents: [agentId] });
      },
    };
    const { scanner } = janitor({ ownership: racing });

    const report = await scanner.scan();

    assert.equal(findingOf(report, adopted)?.outcome, "changed");
    assert.equal(findingOf(report, vanished)?.outcome, "gone");
    assert.ok(await exists(adopted), "removed although a fresh read found its owner");
    await removeAll(adopted);
  });

  it("removes each kind of orphan and leftover in one scan; live, unlabelled and prewarmed containers stay", async () => {
    // Live sandboxes through the controller, one per consistency mode, both recorded.
    const fast = (
      await ctl.client.createSandbox({ name: "live-fast", image: "busybox", command: ["sleep", "600"] })
    ).sandbox!;
    const strong = (
      await ctl.client.createSandbox({
        name: "live-strong",
        image: "busybox",
        command: ["sleep", "600"],
        consistencyMode: ConsistencyMode.STRONG,
      })
    ).sandbox!;
    await eventually(
      () => ctl.client.getSandbox({ name: "live-fast" }),
      (s) => s.uid !== "",
    );
    // A live sandbox's quiet log is old, yet it stays: its container exists.
    const liveLog = path.join(logDir, `${fast.sandboxId}.log`);
    await utimes(liveLog, LONG_AGO, LONG_AGO);

    const goneAgent = `gone-${tag}`;
    const orphans = {
      noObject: newId("ghost"),
      uidMismatch: newId("live-strong"),
      staleFast: newId("live-fast"),
      agentGone: newId("departed"),
      prewarmAgentGone: newId("warm"),
    };
    await plant(orphans.noObject, ownLabels(orphans.noObject));
    await plant(
      orphans.uidMismatch,
      ownLabels(orphans.uidMismatch, { [Labels.Name]: "live-strong", [Labels.Uid]: "uid-of-a-deleted-one" }),
    );
    await plant(
      orphans.staleFast,
      ownLabels(orphans.staleFast, { [Labels.Name]: "live-fast", [Labels.Uid]: "" }),
    );
    await plant(orphans.agentGone, ownLabels(orphans.agentGone, { [Labels.Agent]: goneAgent }));
    await plant(
      orphans.prewarmAgentGone,
      ownLabels(orphans.prewarmAgentGone, {
        [Labels.Agent]: goneAgent,
        [Labels.Prewarm]: "true",
        [Labels.Uid]: "",
      }),
    );
    const keepers = {
      unlabelled: newId("plain"),
      foreign: newId("foreign"),
      prewarm: newId("warm"),
    };
    await plant(keepers.unlabelled, { "test.fast.io/run": tag });
    // Our managed-by, but the sandbox-id label names another container: not provably ours.
    await plant(keepers.foreign, ownLabels(newId("other")));
    await plant(
      keepers.prewarm,
      ownLabels(keepers.prewarm, { [Labels.Prewarm]: "true", [Labels.Name]: "", [Labels.Uid]: "" }),
    );

    const leftoverLog = await plantLog(newId("removed"), LONG_AGO);
    const recentLog = await plantLog(newId("removed"), new Date());
    const ourBundle = await plantBundle(newId("failed"), `fsb-${agentId}`);
    const foreignBundle = await plantBundle(newId("failed"), "someone-else");
    const lonelySnapshot = newId("crashed");
    await conn.snapshots.prepare({
      snapshotter: "overlayfs",
      key: lonelySnapshot,
      parent: image.chainId,
      labels: {
        [Labels.ManagedBy]: managedByValue,
        [Labels.SandboxId]: lonelySnapshot,
        [Labels.Agent]: agentId,
        [SNAPSHOT_GC_ROOT_LABEL]: LONG_AGO.toISOString(),
      },
    });
    const { scanner, metrics } = janitor();

    const started = performance.now();
    const report = await scanner.scan();
    const scanMs = performance.now() - started;

    assert.equal(report.ownership, "ok");
    const want: Record<keyof typeof orphans, string> = {
      noObject: "object-gone",
      uidMismatch: "uid-mismatch",
      staleFast: "stale-incarnation",
      agentGone: "agent-gone",
      prewarmAgentGone: "agent-gone",
    };
    for (const [key, id] of Object.entries(orphans) as Array<[keyof typeof orphans, string]>) {
      assert.deepEqual(
        findingOf(report, id),
        { kind: "container", id, reason: want[key], outcome: "removed" },
        key,
      );
      assert.deepEqual(await leftoversOf(conn, id), nothingLeft, `${key} left something behind`);
      assert.equal(existsSync(path.join(logDir, `${id}.log`)), false, `${key} left its log file`);
    }
    assert.deepEqual(verdictOf(report, fast.sandboxId), { action: "keep", reason: "owned" });
    assert.deepEqual(verdictOf(report, strong.sandboxId), { action: "keep", reason: "owned" });
    assert.deepEqual(verdictOf(report, keepers.unlabelled), { action: "keep", reason: "not-managed" });
    assert.deepEqual(verdictOf(report, keepers.foreign), { action: "keep", reason: "not-managed" });
    assert.deepEqual(verdictOf(report, keepers.prewarm), { action: "keep", reason: "prewarm" });
    for (const id of [fast.sandboxId, strong.sandboxId, keepers.unlabelled, keepers.foreign]) {
      assert.equal((await runtime.taskStatus(id)).state, "running", `${id} was touched`);
    }
    assert.equal(
      (await runtime.taskStatus(keepers.prewarm)).state,
      "created",
      "the prewarmed container was touched",
    );
    for (const name of ["live-fast", "live-strong"]) {
      assert.equal((await ctl.client.getSandbox({ name })).phase, "Running");
    }

    assert.equal(findingOf(report, path.basename(leftoverLog, ".log"))?.outcome, "removed");
    assert.equal(existsSync(leftoverLog), false, "the leftover log is still there");
    assert.ok(existsSync(liveLog), "a live sandbox's log went");
    assert.ok(existsSync(recentLog), "a log within retention went");
    assert.equal(findingOf(report, path.basename(ourBundle))?.outcome, "removed");
    assert.equal(existsSync(ourBundle), false, "the bundle of a failed create is still there");
    assert.ok(existsSync(foreignBundle), "a bundle that is not ours went");
    assert.equal(findingOf(report, lonelySnapshot)?.outcome, "removed");
    assert.equal((await leftoversOf(conn, lonelySnapshot)).snapshot, false);

    // Nothing else was acted on.
    const expected = new Set([
      ...Object.values(orphans),
      path.basename(leftoverLog, ".log"),
      path.basename(ourBundle),
      lonelySnapshot,
    ]);
    assert.deepEqual(
      report.findings.filter((f) => !expected.has(f.id)),
      [],
    );
    const text = await metrics.registry.metrics();
    assert.match(text, /fsb_janitor_orphans_removed_total\{reason="agent-gone"\} 2/);
    assert.match(text, /fsb_janitor_orphans_removed_total\{reason="uid-mismatch"\} 1/);
    assert.match(text, /fsb_janitor_files_removed_total\{kind="log"\} 1/);
    assert.match(text, /fsb_janitor_files_removed_total\{kind="bundle"\} 1/);
    assert.match(text, /fsb_janitor_snapshots_removed_total 1/);
    assert.match(text, /fsb_janitor_scans_total\{result="ok"\} 1/);

    // A second scan finds nothing more.
    const again = await scanner.scan();
    assert.deepEqual(again.findings, []);
    console.log(`[janitor] scan with 5 orphans and 3 leftovers: ${scanMs.toFixed(0)} ms`);

    await removeAll(...Object.values(keepers));
    await rm(recentLog);
    await rm(foreignBundle, { recursive: true });
    for (const name of ["live-fast", "live-strong"]) {
      await ctl.client.deleteSandbox({ name, gracePeriodSeconds: 0 });
    }
  });

  it("runs as fsb-janitor: scans on its interval, serves metrics, stops on SIGTERM", async () => {
    const orphan = newId("ghost");
    await plant(orphan, ownLabels(orphan));
    const metricsPort = await freePort();
    const child = spawn(
      process.execPath,
      [
        janitorEntry,
        "--controller-url",
        ctl.url,
        "--containerd-socket",
        socket,
        "--containerd-namespace",
        namespace,
        "--containerd-state",
        stateDir,
        "--log-dir",
        logDir,
        "--orphan-timeout",
        "1s",
        "--scan-interval",
        "1s",
        "--metrics-bind-address",
        `127.0.0.1:${metricsPort}`,
        "--log-level",
        "warn",
      ],
      { env: { ...process.env, FSB_TOKEN: ctl.token }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    try {
      assert.equal(
        await eventually(
          () => exists(orphan),
          (present) => !present,
          20_000,
        ),
        false,
        output,
      );
      const text = await eventually(
        () =>
          fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
            (r) => r.text(),
            () => "",
          ),
        (t) => /fsb_janitor_orphans_removed_total\{reason="object-gone"\} 1/.test(t),
      );
      assert.match(text, /fsb_janitor_orphans_removed_total\{reason="object-gone"\} 1/, output);
    } finally {
      assert.equal(await stop(child), 0, output);
    }
  });
});

/** SIGTERM, and how the process ended: its exit code, or the signal that killed it. */
function stop(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child.exitCode ?? `${child.signalCode}`);
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? `killed by ${signal}`));
    child.kill("SIGTERM");
  });
}

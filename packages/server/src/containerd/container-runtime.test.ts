// ContainerRuntime and ImageResolver against the real test containerd.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { TEST_IMAGE } from "../../../../test/harness/constants.ts";
import { testConnection } from "../../../../test/harness/containerd.ts";
import { eventually, leftoversOf, nothingLeft } from "../../../../test/harness/leftovers.ts";
import type { ContainerdConnection } from "./connection.ts";
import { ContainerRuntime, type TaskEvent } from "./container-runtime.ts";
import { withImageConfig } from "./image-config-option.ts";
import { ImageResolver, type ResolvedImage } from "./image-resolver.ts";
import { withCgroupsPath, withHostNetwork, withResources } from "./linux-options.ts";
import { buildSpec } from "./oci-spec.ts";
import { withShimGroup } from "./spec-options.ts";

describe("containerd runtime", () => {
  let conn: ContainerdConnection;
  let runtime: ContainerRuntime;
  let images: ImageResolver;
  let image: ResolvedImage;
  let logDir: string;
  const tag = randomBytes(3).toString("hex");
  const made: string[] = [];

  const create = async (
    name: string,
    command: string[],
    options: { start?: boolean; labels?: Record<string, string>; memoryBytes?: number } = {},
  ) => {
    const id = `rt-${tag}-${name}`;
    made.push(id);
    const spec = buildSpec(
      withImageConfig(image.config, { command }),
      withHostNetwork(),
      withResources(options.memoryBytes === undefined ? {} : { memoryBytes: options.memoryBytes }),
      withCgroupsPath(`/fast-sandbox/rt-${tag}/${id}`),
      withShimGroup(`rt-${tag}`),
    );
    const logPath = path.join(logDir, `${id}.log`);
    const { pid } = await runtime.create({
      id,
      image,
      spec,
      labels: { "test.fast.io/run": tag, ...options.labels },
      logPath,
      ...(options.start === undefined ? {} : { start: options.start }),
    });
    return { id, pid, logPath };
  };

  before(async () => {
    conn = await testConnection();
    runtime = new ContainerRuntime(conn);
    images = new ImageResolver(conn);
    image = await images.resolve("busybox");
    logDir = await mkdtemp(path.join(os.tmpdir(), "fsb-rt-"));
  });
  after(async () => {
    for (const id of made) await runtime.delete(id, { gracePeriodMs: 0 });
    await rm(logDir, { recursive: true, force: true });
    conn.close();
  });

  it("resolves an image by any spelling to its config and the chain id of an existing snapshot", async () => {
    for (const spelling of ["busybox", "library/busybox", "docker.io/library/busybox:latest"]) {
      const resolved = await images.resolve(spelling);
      assert.equal(resolved.name, TEST_IMAGE);
      assert.equal(resolved.chainId, image.chainId);
    }
    assert.deepEqual(image.config.cmd, ["sh"]);
    const snapshot = await conn.snapshots.stat({ snapshotter: "overlayfs", key: image.chainId });
    assert.equal(snapshot.info?.name, image.chainId);
  });

  it("lists cached images with normalised names", async () => {
    assert.ok((await images.list()).includes(TEST_IMAGE));
  });

  it("answers NOT_FOUND for an image the node does not have", async () => {
    await assert.rejects(images.resolve("docker.io/library/absent:1.0"), (err: unknown) => {
      assert.ok(isFsbError(err, ErrorCode.NotFound));
      assert.match(err.message, /not on this node/);
      return true;
    });
  });

  it("starts a task, appends its output to the file log, and reports it running", async () => {
    const { id, pid, logPath } = await create("run", ["sh", "-c", "echo out; echo err >&2; exec sleep 600"]);
    assert.ok(pid > 0);
    const status = await runtime.inspect(id);
    assert.equal(status.task.state, "running");
    assert.equal(status.task.pid, pid);
    assert.equal(status.image, TEST_IMAGE);
    const text = await eventually(
      () => readFile(logPath, "utf8").catch(() => ""),
      (t) => t.includes("err"),
    );
    assert.match(text, /out/);
    assert.match(text, /err/);
  });

  it("can leave a task created but not started, and start it later", async () => {
    const { id } = await create("prewarm", ["sleep", "600"], { start: false });
    assert.equal((await runtime.taskStatus(id)).state, "created");
    const { pid } = await runtime.start(id);
    assert.ok(pid > 0);
    assert.equal((await runtime.taskStatus(id)).state, "running");
  });

  it("deletes a created task that never started, leaving nothing and no process", async () => {
    const { id } = await create("created-gone", ["sleep", "600"], { start: false });
    const { pid } = await runtime.taskStatus(id);
    assert.ok(pid > 0);
    await runtime.delete(id, { gracePeriodMs: 10_000 });
    assert.deepEqual(await leftoversOf(conn, id), nothingLeft);
    assert.equal(
      await eventually(
        () => existsSync(`/proc/${pid}`),
        (e) => !e,
      ),
      false,
    );
  });

  it("replaces a container's labels in one update", async () => {
    const { id } = await create("relabel", ["sleep", "600"], {
      start: false,
      labels: { "test.fast.io/old": "gone" },
    });
    await runtime.setLabels(id, { "test.fast.io/run": tag, "test.fast.io/new": "here" });
    const status = await runtime.inspect(id);
    assert.deepEqual(status.labels, { "test.fast.io/run": tag, "test.fast.io/new": "here" });
    assert.equal(status.task.state, "created");
  });

  it("answers NOT_FOUND when relabelling a container that does not exist", async () => {
    await assert.rejects(runtime.setLabels(`rt-${tag}-never`, { a: "b" }), (err: unknown) =>
      isFsbError(err, ErrorCode.NotFound),
    );
  });

  /** Collects task events of this run's containers until `done` holds (or 10 s pass). */
  const watchEvents = (done: (seen: TaskEvent[]) => boolean) => {
    const abort = new AbortController();
    const seen: TaskEvent[] = [];
    const timeout = setTimeout(() => abort.abort(), 10_000);
    const watching = (async () => {
      for await (const event of runtime.taskEvents(abort.signal)) {
        if (!event.containerId.startsWith(`rt-${tag}-`)) continue;
        seen.push(event);
        if (done(seen)) break;
      }
      clearTimeout(timeout);
      abort.abort();
      return seen;
    })();
    return watching;
  };

  it("delivers the exit event of an init process with its status", async () => {
    const watching = watchEvents((seen) => seen.some((e) => e.containerId.endsWith("-exit5")));
    // Let the subscription establish before the process exits.
    await new Promise((r) => setTimeout(r, 200));
    const { id } = await create("exit5", ["sh", "-c", "exit 5"]);
    const exit = (await watching).find((e) => e.containerId === id);
    assert.equal(exit?.kind === "exit" && exit.exitCode, 5);
    const status = await runtime.taskStatus(id);
    assert.equal(status.state, "stopped");
    assert.equal(status.exitCode, 5);
  });

  it("delivers an OOM kill and the exit it causes", async () => {
    // containerd's shim reports the two from different watchers (the cgroup's memory.events, the
    // reaper), so they come in either order: usually the OOM first, once after the exit in CI.
    const watching = watchEvents((seen) =>
      ["oom", "exit"].every((kind) => seen.some((e) => e.kind === kind && e.containerId.endsWith("-oom"))),
    );
    await new Promise((r) => setTimeout(r, 200));
    // The string doubles until the 16 MiB limit is hit.
    const { id } = await create("oom", ["sh", "-c", "x=0123456789abcdef; while true; do x=$x$x; done"], {
      memoryBytes: 16 * 1024 * 1024,
    });
    const events = (await watching).filter((e) => e.containerId === id);
    assert.deepEqual(events.map((e) => e.kind).sort(), ["exit", "oom"]);
    const exit = events.find((e) => e.kind === "exit");
    assert.equal(exit?.kind === "exit" && exit.exitCode, 137);
  });

  it("names the conditions of a failed create from runc's own words, leaving nothing", async () => {
    const cases: Array<{
      name: string;
      command: string[];
      memoryBytes?: number;
      code: string;
      field: string;
    }> = [
      { name: "nocmd", command: ["no-such-program"], code: ErrorCode.InvalidArgument, field: "command" },
      { name: "noexec", command: ["/etc/passwd"], code: ErrorCode.InvalidArgument, field: "command" },
      // Below what runc init has charged to the cgroup by the time the limit is set (~2 MB here).
      {
        name: "tinymem",
        command: ["true"],
        memoryBytes: 1024 * 1024,
        code: ErrorCode.InvalidArgument,
        field: "resources.memory",
      },
    ];
    for (const c of cases) {
      await assert.rejects(
        create(c.name, c.command, c.memoryBytes === undefined ? {} : { memoryBytes: c.memoryBytes }),
        (err: unknown) => {
          assert.ok(isFsbError(err, c.code as ErrorCode), `${c.name}: ${String(err)}`);
          assert.equal(err.field, c.field, c.name);
          return true;
        },
      );
      assert.deepEqual(await leftoversOf(conn, `rt-${tag}-${c.name}`), nothingLeft, c.name);
    }
  });

  it("lists only the containers whose labels match", async () => {
    await create("labelled", ["sleep", "600"], { labels: { "test.fast.io/pick": "yes" } });
    const picked = await runtime.list({ "test.fast.io/run": tag, "test.fast.io/pick": "yes" });
    assert.deepEqual(
      picked.map((c) => c.id),
      [`rt-${tag}-labelled`],
    );
    assert.equal(picked[0]?.task.state, "running");
    const all = await runtime.list({ "test.fast.io/run": tag });
    assert.ok(all.length >= 2);
    // The same from metadata alone, without asking any shim.
    const infos = await runtime.listContainers({ "test.fast.io/run": tag, "test.fast.io/pick": "yes" });
    assert.deepEqual(
      infos.map((c) => c.id),
      [`rt-${tag}-labelled`],
    );
  });

  it("a failed create of an id in use rolls back only its own steps, leaving the first container intact", async () => {
    const first = await create("dup", ["sleep", "600"]);
    await assert.rejects(create("dup", ["sleep", "600"]), (err: unknown) =>
      isFsbError(err, ErrorCode.AlreadyExists),
    );
    const status = await runtime.inspect(first.id);
    assert.equal(status.task.state, "running");
    assert.equal(status.task.pid, first.pid);
  });

  it("deletes idempotently, and an unknown id counts as done", async () => {
    const { id } = await create("gone", ["sleep", "600"]);
    await runtime.delete(id, { gracePeriodMs: 0 });
    await runtime.delete(id, { gracePeriodMs: 0 });
    await runtime.delete(`rt-${tag}-never`, { gracePeriodMs: 0 });
    assert.deepEqual(await leftoversOf(conn, id), nothingLeft);
  });
});

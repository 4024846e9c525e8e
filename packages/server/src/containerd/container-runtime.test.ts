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
import { ContainerRuntime, type TaskExitEvent } from "./container-runtime.ts";
import { withImageConfig } from "./image-config-option.ts";
import { ImageResolver, type ResolvedImage } from "./image-resolver.ts";
import { withCgroupsPath, withHostNetwork } from "./linux-options.ts";
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
    options: { start?: boolean; labels?: Record<string, string> } = {},
  ) => {
    const id = `rt-${tag}-${name}`;
    made.push(id);
    const spec = buildSpec(
      withImageConfig(image.config, { command }),
      withHostNetwork(),
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

  it("delivers the exit event of an init process with its status", async () => {
    const abort = new AbortController();
    const seen: TaskExitEvent[] = [];
    const watching = (async () => {
      for await (const exit of runtime.taskExits(abort.signal)) {
        seen.push(exit);
        if (exit.containerId.endsWith("-exit5")) break;
      }
    })();
    // Let the subscription establish before the process exits.
    await new Promise((r) => setTimeout(r, 200));
    const { id } = await create("exit5", ["sh", "-c", "exit 5"]);
    const timeout = setTimeout(() => abort.abort(), 10_000);
    await watching;
    clearTimeout(timeout);
    abort.abort();
    const exit = seen.find((e) => e.containerId === id);
    assert.equal(exit?.exitCode, 5);
    const status = await runtime.taskStatus(id);
    assert.equal(status.state, "stopped");
    assert.equal(status.exitCode, 5);
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

// resyncTasks against the real test containerd: one Containers.List by label, one Tasks.Get per
// checked container that exists, and `missing` for one that is gone.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { testConnection } from "../../../../test/harness/containerd.ts";
import { eventually } from "../../../../test/harness/leftovers.ts";
import type { ContainerdConnection } from "../containerd/connection.ts";
import { ContainerRuntime, type TaskStatus } from "../containerd/container-runtime.ts";
import { withImageConfig } from "../containerd/image-config-option.ts";
import { ImageResolver } from "../containerd/image-resolver.ts";
import { withCgroupsPath, withHostNetwork } from "../containerd/linux-options.ts";
import { buildSpec } from "../containerd/oci-spec.ts";
import { listOwnContainers, resyncTasks, type TaskCheck } from "./task-resync.ts";

describe("resyncTasks", () => {
  let conn: ContainerdConnection;
  let runtime: ContainerRuntime;
  let logDir: string;
  const tag = randomBytes(3).toString("hex");
  const labels = { "test.fast.io/resync": tag };
  const id = (name: string) => `resync-${tag}-${name}`;

  const run = async (name: string, command: string[]) => {
    const image = await new ImageResolver(conn).resolve("busybox");
    await runtime.create({
      id: id(name),
      image,
      spec: buildSpec(
        withImageConfig(image.config, { command }),
        withHostNetwork(),
        withCgroupsPath(`/fast-sandbox/resync-${tag}/${id(name)}`),
      ),
      labels,
      logPath: path.join(logDir, `${id(name)}.log`),
    });
  };

  before(async () => {
    conn = await testConnection();
    runtime = new ContainerRuntime(conn);
    logDir = await mkdtemp(path.join(os.tmpdir(), "fsb-resync-"));
    await run("up", ["sleep", "600"]);
    await run("done", ["sh", "-c", "exit 4"]);
    await eventually(
      () => runtime.taskStatus(id("done")),
      (t) => t.state === "stopped",
    );
  });
  after(async () => {
    for (const name of ["up", "done"]) await runtime.delete(id(name), { gracePeriodMs: 0 });
    await rm(logDir, { recursive: true, force: true });
    conn.close();
  });

  it("hands each check its task's state, and `missing` for a container that is gone", async () => {
    const seen = new Map<string, TaskStatus>();
    const check = (name: string): TaskCheck => ({
      containerId: id(name),
      observe: (task) => seen.set(name, task),
    });
    const report = await resyncTasks(runtime, labels, [check("up"), check("done"), check("gone")]);
    assert.deepEqual(report, { containers: 2, taskReads: 2 });
    assert.equal(seen.get("up")?.state, "running");
    assert.equal(seen.get("done")?.state, "stopped");
    assert.equal(seen.get("done")?.exitCode, 4);
    assert.equal(seen.get("gone")?.state, "missing");
  });

  it("reads no task when nothing is to be checked", async () => {
    assert.deepEqual(await resyncTasks(runtime, labels, []), { containers: 2, taskReads: 0 });
  });

  it("lists the labelled containers with their tasks as the full list does", async () => {
    const own = await listOwnContainers(runtime, labels);
    const full = await runtime.list(labels);
    const view = (cs: typeof own) =>
      cs
        .map((c) => ({ id: c.id, state: c.task.state, exitCode: c.task.exitCode, pid: c.task.pid }))
        .sort((a, b) => a.id.localeCompare(b.id));
    assert.deepEqual(view(own), view(full));
    assert.equal(own.length, 2);
  });
});

// TaskResync against the real test containerd: one Containers.List by label, `missing` for a container
// that is gone, and a Tasks.Get only for a task not yet confirmed or whose process has gone.
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
import { listOwnContainers, type TaskCheck, TaskResync } from "./task-resync.ts";

describe("TaskResync", () => {
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

  /** Checks of the named containers (with the pid the agent believes), recording what each observes. */
  const checksOf = async (names: string[]) => {
    const seen = new Map<string, TaskStatus>();
    const checks: TaskCheck[] = [];
    for (const name of names) {
      const { pid } = await runtime.taskStatus(id(name));
      checks.push({ containerId: id(name), pid, observe: (task) => seen.set(name, task) });
    }
    return { seen, checks };
  };

  it("hands each check its task's state, and `missing` for a container that is gone", async () => {
    const { seen, checks } = await checksOf(["up", "done", "gone"]);
    const report = await new TaskResync(runtime, labels).run(checks);
    assert.deepEqual(report, { containers: 2, taskReads: 2, confirmedLocally: 0 });
    assert.equal(seen.get("up")?.state, "running");
    assert.equal(seen.get("done")?.state, "stopped");
    assert.equal(seen.get("done")?.exitCode, 4);
    assert.equal(seen.get("gone")?.state, "missing");
  });

  it("asks containerd again only about a task whose process is no longer the one it confirmed", async () => {
    await run("brief", ["sleep", "600"]);
    const resync = new TaskResync(runtime, labels);
    const first = await checksOf(["up", "brief"]);
    assert.deepEqual(await resync.run(first.checks), { containers: 3, taskReads: 2, confirmedLocally: 0 });

    // Both still run: /proc answers, containerd is not asked.
    const second = await checksOf(["up", "brief"]);
    assert.deepEqual(await resync.run(second.checks), { containers: 3, taskReads: 0, confirmedLocally: 2 });
    assert.equal(second.seen.size, 0, "an unchanged task was reported");

    // One dies (its exit event, say, was lost): only it is read, and its exit is reported.
    await conn.tasks.kill({ containerId: id("brief"), signal: 9, all: true });
    await eventually(
      () => runtime.taskStatus(id("brief")),
      (t) => t.state === "stopped",
    );
    const third = await checksOf(["up", "brief"]);
    third.checks[1]!.pid = first.checks[1]!.pid; // the agent still believes the old pid runs
    assert.deepEqual(await resync.run(third.checks), { containers: 3, taskReads: 1, confirmedLocally: 1 });
    assert.equal(third.seen.get("brief")?.state, "stopped");
    assert.equal(third.seen.get("brief")?.exitCode, 137);
    await runtime.delete(id("brief"), { gracePeriodMs: 0 });
  });

  it("reads no task when nothing is to be checked", async () => {
    assert.deepEqual(await new TaskResync(runtime, labels).run([]), {
      containers: 2,
      taskReads: 0,
      confirmedLocally: 0,
    });
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

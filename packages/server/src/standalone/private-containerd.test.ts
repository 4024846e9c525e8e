// A private containerd that an earlier run left behind: adopted when it answers with today's config,
// stopped by PID otherwise, and never confused with another process or left holding its database.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFile, mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { isProcessRunning } from "../core/proc-fs.ts";
import { PrivateContainerd } from "./private-containerd.ts";

describe("PrivateContainerd and an earlier run's containerd", () => {
  const dirs: string[] = [];
  /** Every instance started here, stopped in `after` whatever the test did to it. */
  const started: PrivateContainerd[] = [];
  const fresh = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "fsb-pc-"));
    dirs.push(dir);
    return dir;
  };
  const begin = async (dir: string, options: { adopt?: boolean } = {}) => {
    const containerd = new PrivateContainerd({ dir });
    started.push(containerd);
    return { containerd, how: await containerd.start(options) };
  };
  after(async () => {
    for (const c of started) await c.stop().catch(() => {});
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("adopts one that answers with today's config, and stops it as its own", async () => {
    const dir = await fresh();
    const { containerd: crashed } = await begin(dir);
    const pid = crashed.pid!;
    // The first owner "crashes": it never stops its containerd.
    const { containerd, how } = await begin(dir, { adopt: true });
    assert.equal(how, "adopted");
    assert.equal(containerd.pid, pid);
    await containerd.stop();
    assert.equal(isProcessRunning(pid), false);
  });

  it("stops one that runs another config (or when not adopting) before starting its own", async () => {
    const dir = await fresh();
    const { containerd: crashed } = await begin(dir);
    const old = crashed.pid!;
    await appendFile(path.join(dir, "config.toml"), "# an older version wrote this\n");
    const { containerd, how } = await begin(dir, { adopt: true });
    assert.equal(how, "started");
    assert.notEqual(containerd.pid, old);
    assert.equal(isProcessRunning(old), false, "the leftover still runs beside the new one");
    const { containerd: third, how: again } = await begin(dir);
    assert.equal(again, "started", "without adopt a leftover is always replaced");
    assert.equal(isProcessRunning(containerd.pid!), false);
    await third.stop();
  });

  it("leaves alone a process that its PID file names but that is not its containerd", async () => {
    const dir = await fresh();
    const other = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      await writeFile(path.join(dir, "containerd.pid"), `${other.pid}\n`);
      const { containerd, how } = await begin(dir, { adopt: true });
      assert.equal(how, "started");
      assert.equal(isProcessRunning(other.pid!), true);
      await containerd.stop();
    } finally {
      other.kill("SIGKILL");
    }
  });

  it("refuses, in one line and at once, a containerd on its socket that its PID file does not name", async () => {
    const dir = await fresh();
    const { containerd: running } = await begin(dir);
    await unlink(path.join(dir, "containerd.pid"));
    const startedAt = Date.now();
    await assert.rejects(
      new PrivateContainerd({ dir }).start({ adopt: true }),
      (err) =>
        isFsbError(err, ErrorCode.FailedPrecondition) &&
        err.message.includes(running.socketPath) &&
        !err.message.includes("\n"),
    );
    assert.ok(Date.now() - startedAt < 5000, "it waited for a socket that could never be its own");
    assert.equal(isProcessRunning(running.pid!), true);
  });
});

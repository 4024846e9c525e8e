// The PID lock file: held only by a live process that is still the one that wrote it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { acquireLockFile, readLockHolder, tryAcquireLockFile } from "./lock-file.ts";
import { bootId, processStartTicks } from "./proc-fs.ts";

const dirs: string[] = [];
function lockPath(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "fsb-lock-"));
  dirs.push(dir);
  return path.join(dir, "x.lock");
}

/** A PID that has just exited: nothing runs under it (until the kernel hands it out again). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

describe("lock file", () => {
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("records who holds it (PID, start time, boot, details) and refuses a second taker while held", () => {
    const file = lockPath();
    const first = tryAcquireLockFile(file, { api: "http://127.0.0.1:9090" });
    assert.ok(first.lock);
    assert.deepEqual(readLockHolder(file), {
      pid: process.pid,
      startTicks: processStartTicks(process.pid),
      bootId: bootId(),
      details: { api: "http://127.0.0.1:9090" },
    });
    const second = tryAcquireLockFile(file);
    assert.equal(second.lock, undefined);
    assert.equal(second.holder?.pid, process.pid);
    assert.equal(second.holder?.details.api, "http://127.0.0.1:9090");
    assert.throws(
      () => acquireLockFile(file),
      (err) =>
        isFsbError(err, ErrorCode.FailedPrecondition) && /live process \d+ \(this one\)/.test(err.message),
    );
    first.lock.update({ api: "http://127.0.0.1:19090" });
    assert.equal(readLockHolder(file)?.details.api, "http://127.0.0.1:19090");
    first.lock.release();
    assert.equal(readLockHolder(file), undefined);
  });

  const stale: Array<{ name: string; record: (pid: number) => Promise<object | string> }> = [
    { name: "its PID is gone", record: async () => ({ pid: await deadPid(), details: {} }) },
    {
      name: "its PID now names a process that started later (PID reuse)",
      record: async (pid) => ({
        pid,
        startTicks: (processStartTicks(pid) ?? 0) - 1,
        bootId: bootId(),
        details: {},
      }),
    },
    {
      name: "it was written in an earlier boot",
      record: async (pid) => ({
        pid,
        startTicks: processStartTicks(pid),
        bootId: "another-boot",
        details: {},
      }),
    },
    { name: "it is a bare PID that is gone (the old format)", record: async () => `${await deadPid()}\n` },
  ];
  for (const tc of stale) {
    it(`is taken over when ${tc.name}`, async () => {
      const file = lockPath();
      const record = await tc.record(process.pid);
      writeFileSync(file, typeof record === "string" ? record : JSON.stringify(record));
      const attempt = tryAcquireLockFile(file, { api: "new" });
      assert.ok(attempt.lock, `not taken over: ${readFileSync(file, "utf8")}`);
      assert.equal(readLockHolder(file)?.details.api, "new");
      attempt.lock.release();
    });
  }

  it("is held by a live process that wrote a bare PID (the old format)", async () => {
    const file = lockPath();
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    try {
      writeFileSync(file, `${child.pid}\n`);
      assert.equal(tryAcquireLockFile(file).holder?.pid, child.pid);
    } finally {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  });

  it("release leaves a lock that another process took over", () => {
    const file = lockPath();
    const { lock } = tryAcquireLockFile(file);
    assert.ok(lock);
    writeFileSync(file, JSON.stringify({ pid: 1, details: {} }));
    lock.release();
    assert.equal(readLockHolder(file)?.pid, 1);
  });
});

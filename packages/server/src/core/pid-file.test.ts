// PID files and the processes they name: found again only while the PID still runs the same program.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { readPidFile, recordedProcess, removePidFile, writePidFile } from "./pid-file.ts";
import { argvHas, isProcessRunning } from "./proc-fs.ts";
import { stopProcess } from "./stop-process.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "fsb-pid-"));

describe("pid files", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("are written atomically, read back, and removed only by the PID they name", () => {
    const file = path.join(dir, "a", "x.pid");
    writePidFile(file, 4242);
    assert.equal(readPidFile(file), 4242);
    removePidFile(file, 4343);
    assert.equal(readPidFile(file), 4242, "another PID's removal leaves it");
    removePidFile(file, 4242);
    assert.equal(readPidFile(file), undefined);
  });

  it("name a process only while it runs with the expected command line; stopProcess escalates to SIGKILL", async () => {
    const file = path.join(dir, "sleeper.pid");
    // It ignores SIGTERM, so only the SIGKILL after the grace period ends it. It says so once the
    // trap is set: a SIGTERM sent before that would end it at once.
    const script = "trap '' TERM; echo trapped; while :; do sleep 1; done";
    const child = spawn("sh", ["-c", script, "fsb-test-marker"], { stdio: ["ignore", "pipe", "ignore"] });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    writePidFile(file, child.pid!);
    const ours = (argv: readonly string[]) => argvHas(argv, "-c", script);
    assert.equal(recordedProcess(file, ours), child.pid);
    assert.equal(
      recordedProcess(file, (argv) => argvHas(argv, "--agent-id", "x")),
      undefined,
      "another program",
    );
    const started = Date.now();
    assert.equal(await stopProcess(child.pid!, 300), true);
    assert.ok(Date.now() - started >= 300, "waited out the grace period first");
    await exited;
    assert.equal(isProcessRunning(child.pid!), false);
    assert.equal(recordedProcess(file, ours), undefined, "a gone process is not found");
    assert.equal(await stopProcess(child.pid!, 300), true, "stopping a gone process is done at once");
  });
});

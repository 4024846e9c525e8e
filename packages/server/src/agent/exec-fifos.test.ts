// FifoMaker: spare FIFO sets made ahead with one mkfifo process, each set handed out once, emptied at stop.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { lstat, mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { FifoMaker, type FifoSet, type MakeFifos, SPARE_FIFO_SETS } from "./exec-fifos.ts";

const run = promisify(execFile);

/** The real mkfifo, counting its calls. */
function countingMkfifo(): { makeFifos: MakeFifos; calls: () => number } {
  let calls = 0;
  return {
    makeFifos: async (paths) => {
      calls += 1;
      await run("mkfifo", ["-m", "600", ...paths]);
    },
    calls: () => calls,
  };
}

async function isFifo(file: string): Promise<boolean> {
  return (await lstat(file)).isFIFO();
}

/** Lets a background refill (started once half the spares are gone) finish. */
async function settle(maker: FifoMaker): Promise<void> {
  for (let i = 0; i < 500 && maker.spareCount <= SPARE_FIFO_SETS / 2; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("FifoMaker", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "fsb-fifos-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("makes the spares with one process at prepare, and hands them out without another", async () => {
    const mk = countingMkfifo();
    const maker = new FifoMaker(path.join(root, "a"), mk.makeFifos);
    await maker.prepare();
    assert.equal(maker.spareCount, SPARE_FIFO_SETS);
    assert.equal(mk.calls(), 1);
    const set = await maker.make();
    for (const file of [set.stdin, set.stdout, set.stderr]) assert.ok(await isFifo(file), file);
    assert.equal((await lstat(set.stdout)).mode & 0o777, 0o600);
    assert.equal(mk.calls(), 1, "a spare is handed out without a mkfifo process");
  });

  it("tops the spares up with one process once half are used, and never hands a set out twice", async () => {
    const mk = countingMkfifo();
    const maker = new FifoMaker(path.join(root, "b"), mk.makeFifos);
    await maker.prepare();
    const seen = new Set<string>();
    for (let i = 0; i < SPARE_FIFO_SETS * 3; i++) {
      const set = await maker.make();
      assert.ok(!seen.has(set.stdout), `set ${set.stdout} handed out twice`);
      seen.add(set.stdout);
      assert.ok(await isFifo(set.stdin));
      await settle(maker);
    }
    // One process at prepare, then one per SPARE_FIFO_SETS / 2 sets handed out.
    assert.equal(mk.calls(), 1 + (SPARE_FIFO_SETS * 3) / (SPARE_FIFO_SETS / 2));
  });

  it("makes a set on the spot when no spare is left", async () => {
    const maker = new FifoMaker(path.join(root, "c"));
    await maker.prepare();
    const sets = await Promise.all(Array.from({ length: SPARE_FIFO_SETS * 2 }, () => maker.make()));
    assert.equal(new Set(sets.map((s) => s.stdout)).size, sets.length);
    for (const set of sets) assert.ok(await isFifo(set.stderr));
  });

  it("removes a set's FIFOs, and everything at removeAll, spares included", async () => {
    const dir = path.join(root, "d");
    const maker = new FifoMaker(dir);
    await maker.prepare();
    const set: FifoSet = await maker.make();
    await maker.remove(set);
    assert.ok(!(await readdir(dir)).some((f) => set.stdout.endsWith(f)));
    await maker.removeAll();
    await assert.rejects(readdir(dir), { code: "ENOENT" });
    assert.equal(maker.spareCount, 0);
  });

  it("empties what an earlier run left at prepare", async () => {
    const dir = path.join(root, "e");
    const first = new FifoMaker(dir);
    await first.prepare();
    const old = await first.make();
    const second = new FifoMaker(dir);
    await second.prepare();
    await assert.rejects(lstat(old.stdout), { code: "ENOENT" });
    assert.equal((await readdir(dir)).length, SPARE_FIFO_SETS * 3);
  });
});

// The README's fsb-ctl walkthrough, run as written against a real controller, with no flags and no env.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { buildCli, type CliWorkspace, cliWorkspace, FSB_CTL } from "../harness/cli.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";

const root = path.resolve(import.meta.dirname, "../..");
const SECTION = "## The fsb-ctl CLI";

/** The ```bash blocks of the walkthrough section that run fsb-ctl. */
function walkthroughBlocks(readme: string): string[] {
  const start = readme.indexOf(SECTION);
  assert.ok(start >= 0, `README.md has no "${SECTION}" section`);
  const end = readme.indexOf("\n## ", start + SECTION.length);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```bash\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .filter((block) => /^fsb-ctl /m.test(block));
}

describe("README walkthrough", () => {
  let ctl: ControllerProcess;
  let ws: CliWorkspace;
  const conn = testConnection();

  before(async () => {
    await buildCli();
    [ctl, ws] = await Promise.all([
      conn.then((c) => startControllerProcess({ socketPath: c.socketPath, localAgents: 2, capacity: 3 })),
      cliWorkspace(),
    ]);
    // As `npm start` leaves it: the CLI finds the endpoint and token in ./.fsb/config.yaml.
    await ws.writeStandaloneConfig(ctl);
  });
  after(async () => {
    await ctl?.cleanup();
    await ws?.cleanup();
    (await conn).close();
  });

  it("every fsb-ctl command in it exits 0", async () => {
    const blocks = walkthroughBlocks(await readFile(path.join(root, "README.md"), "utf8"));
    assert.ok(blocks.length > 0, "the walkthrough has no fsb-ctl commands");
    const expected = blocks.flatMap((b) => b.split("\n").filter((line) => line.startsWith("fsb-ctl ")));
    const log = path.join(ws.cwd, "fsb-ctl.log");
    // Each call is recorded with its exit code; `set -e` stops at the first failure.
    const script = [
      "set -eo pipefail",
      `fsb-ctl() { local rc=0; ${FSB_CTL} "$@" || rc=$?; printf '%s %s\\n' "$rc" "$*" >>${log}; return $rc; }`,
      ...blocks,
    ].join("\n");
    const result = await promisify(execFile)("bash", ["-c", script], { cwd: ws.cwd, env: ws.env }).catch(
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    const calls = (await readFile(log, "utf8").catch(() => ""))
      .trimEnd()
      .split("\n")
      .filter(Boolean)
      .map((line) => ({ code: Number(line.split(" ")[0]), command: line.slice(line.indexOf(" ") + 1) }));
    const failed = calls.filter((c) => c.code !== 0);
    assert.deepEqual(failed, [], `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    assert.deepEqual(
      calls.map((c) => c.command.split(" ")[0]),
      expected.map((line) => line.split(" ")[1]),
      "every README command ran, in order",
    );
    assert.match(result.stdout, /^sandbox hello created in \d+ ms$/m);
    assert.match(result.stdout, /^sandbox web created in \d+ ms$/m);
    assert.match(result.stdout, /^sandbox hello reset in \d+ ms: /m);
    assert.deepEqual(
      (await ctl.client.listSandboxes({ namespace: "*" })).sandboxes,
      [],
      "it cleans up after itself",
    );
  });
});

// The README, run top to bottom as written: every shell block in order, `npm start` included,
// against the real system it starts (with its own state dir and ports, so it never meets a
// developer's instance or another test).
//
// How it can run as written: the walkthrough ("A first sandbox", "The fsb-ctl CLI") runs in a
// fresh directory that stands for the repository as `npm start` leaves it: `.fsb-dev/` is the
// system's state dir (token files), `.fsb/config.yaml` is the CLI config `npm start` writes there,
// and `bin/` links to the repository's launchers. The other blocks run in the repository. The one
// textual substitution is the API address in the curl block (`127.0.0.1:9090` becomes the test's
// port); `npm start` gets the test's state dir and ports as flags, through a shell function that
// also leaves out the npm commands that cannot run inside a test (NOT_RUN says why, one by one).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, symlink } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { buildCli, type CliWorkspace, cliWorkspace, shellQuote } from "../harness/cli.ts";
import { trackLogs } from "../harness/failure-logs.ts";
import { eventually } from "../harness/leftovers.ts";
import {
  cleanupSite,
  interruptSite,
  logFiles,
  type StandaloneSite,
  siteClient,
  standaloneSite,
} from "../harness/standalone-process.ts";

const root = path.resolve(import.meta.dirname, "../..");
/** Sections whose blocks run in the stand-in checkout (see above); all others run in the repository. */
const WALKTHROUGH = ["## A first sandbox", "## The fsb-ctl CLI"];
/** npm commands of the README a test cannot run, as bash passes their words to a function. */
const NOT_RUN: Record<string, string> = {
  test: "runs every test, this one included",
  "run test:only -- test/e2e/*.test.ts": "runs the e2e tests, this one included",
  "run test:unit": "the unit tier, which the same `npm test` runs as well",
  "run bench:agent": "a benchmark: minutes of full load, never beside other tests",
  "run bench:e2e": "a benchmark: minutes of full load, never beside other tests",
  "run bench:exec": "a benchmark: minutes of full load, never beside other tests",
  "run bench:scheduler": "a benchmark: minutes of full load, never beside other tests",
  "run bench:density": "a benchmark: minutes of full load, never beside other tests",
  "run bench:leaks": "a benchmark: minutes of full load, never beside other tests",
};
const README_API = "127.0.0.1:9090";
/** `npm start` runs setup and brings up containerd, the controller, an agent and the janitor. */
const START_TIMEOUT_S = 90;

interface Block {
  section: string;
  code: string;
}

/** Every ```bash block of the README, in order, with the section it is in. */
function shellBlocks(readme: string): Block[] {
  const blocks: Block[] = [];
  let section = "";
  for (const part of readme.split(/^(```bash\n[\s\S]*?^```)$/m)) {
    if (part.startsWith("```bash\n")) {
      blocks.push({ section, code: part.slice("```bash\n".length, -"```".length) });
      continue;
    }
    const headings = [...part.matchAll(/^## .*$/gm)];
    if (headings.length > 0) section = headings.at(-1)![0];
  }
  return blocks;
}

/** The words bash passes for a command line: comments and quotes dropped. */
function words(line: string): string {
  return line
    .replace(/\s+#.*$/, "")
    .replaceAll("'", "")
    .trim()
    .split(/\s+/)
    .join(" ");
}

describe("README, top to bottom", () => {
  let ws: CliWorkspace;
  let site: StandaloneSite;

  before(async () => {
    await buildCli();
    ws = await cliWorkspace();
    await symlink(path.join(root, "bin"), path.join(ws.cwd, "bin"));
    site = await standaloneSite({
      stateDir: path.join(ws.cwd, ".fsb-dev"),
      cliConfig: path.join(ws.cwd, ".fsb/config.yaml"),
    });
    // The script below starts the system through npm; a failed test prints what it logged.
    trackLogs({
      label: "npm start",
      files: () => [path.join(ws.cwd, "npm-start.log"), ...logFiles(site.stateDir)],
    });
  });
  after(async () => {
    if (site) {
      await interruptSite(site);
      await cleanupSite(site);
    }
    await ws?.cleanup();
  });

  it("runs every shell block in order, and every command in it succeeds", async () => {
    const readme = await readFile(path.join(root, "README.md"), "utf8");
    const blocks = shellBlocks(readme);
    assert.ok(blocks.some((b) => b.section === "## A first sandbox" && b.code.includes(README_API)));
    const lines = blocks.flatMap((b) => b.code.split("\n"));
    const npmCalls = lines.filter((l) => /^npm /.test(l)).map((l) => words(l).slice("npm ".length));
    for (const command of Object.keys(NOT_RUN)) {
      assert.ok(npmCalls.includes(command), `NOT_RUN lists "npm ${command}", which the README no longer has`);
    }
    const ctlCalls = lines.filter((l) => l.startsWith("fsb-ctl ")).map((l) => l.split(" ")[1]);

    const logs = {
      npm: path.join(ws.cwd, "npm-calls.log"),
      ctl: path.join(ws.cwd, "fsb-ctl-calls.log"),
      start: path.join(ws.cwd, "npm-start.log"), // printed by trackLogs above
    };
    const skipped = Object.keys(NOT_RUN)
      .map((c) => `'${c}'`)
      .join("|");
    const script = [
      "set -eo pipefail",
      "export NPM_CONFIG_UPDATE_NOTIFIER=false",
      // `npm start` as a second terminal runs it: in the background, until it says it is running.
      "npm() {",
      `  printf '%s\\n' "$*" >>${logs.npm}`,
      '  case "$*" in',
      `    start) command npm --prefix ${shellQuote(root)} start -- ${site.args.map(shellQuote).join(" ")} >${logs.start} 2>&1 &`,
      "      local pid=$!",
      `      for _ in $(seq ${START_TIMEOUT_S * 10}); do`,
      `        grep -q 'Fast Sandbox is running' ${logs.start} && return 0`,
      "        kill -0 $pid 2>/dev/null || break; sleep 0.1",
      "      done",
      `      cat ${logs.start} >&2; return 1 ;;`,
      `    ${skipped}) ;;`,
      '    *) command npm "$@" ;;',
      "  esac",
      "}",
      // Each fsb-ctl call is recorded with its exit code; `set -e` stops at the first failure.
      `fsb-ctl() { local rc=0; command fsb-ctl "$@" || rc=$?; printf '%s %s\\n' "$rc" "$*" >>${logs.ctl}; return $rc; }`,
      ...blocks.flatMap((b) => [
        `cd ${shellQuote(WALKTHROUGH.includes(b.section) ? ws.cwd : root)}`,
        b.code.replaceAll(README_API, `127.0.0.1:${site.ports.api}`),
      ]),
    ].join("\n");
    const result = await promisify(execFile)("bash", ["-c", script], {
      cwd: root,
      env: ws.env,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: { code: number; stdout: string; stderr: string }) => err);
    const failure = `exit ${"code" in result ? result.code : 0}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;

    const ranNpm = (await readFile(logs.npm, "utf8").catch(() => "")).trimEnd().split("\n");
    assert.deepEqual(ranNpm, npmCalls, `every npm command was reached, in order\n${failure}`);
    const calls = (await readFile(logs.ctl, "utf8").catch(() => ""))
      .trimEnd()
      .split("\n")
      .filter(Boolean)
      .map((line) => ({ code: Number(line.split(" ")[0]), command: line.slice(line.indexOf(" ") + 1) }));
    assert.deepEqual(
      calls.filter((c) => c.code !== 0),
      [],
      failure,
    );
    assert.deepEqual(
      calls.map((c) => c.command.split(" ")[0]),
      ctlCalls,
      `every fsb-ctl command ran, in order\n${failure}`,
    );
    assert.ok(!("code" in result) || result.code === 0, failure);

    // The curl block: each call answered, none with an error.
    assert.doesNotMatch(result.stdout, /^\{"code":/m, failure);
    assert.match(result.stdout, /^\{"sandbox":\{"name":"first",.*"phase":"Running"/m);
    assert.match(result.stdout, /^\{"sandboxes":\[.*"name":"first"/m);
    // The fsb-ctl walkthrough.
    assert.match(result.stdout, /^sandbox hello created in \d+ ms$/m);
    assert.match(result.stdout, /^sandbox web created in \d+ ms$/m);
    assert.match(result.stdout, /^sandbox hello reset in \d+ ms: /m);
    // `bin/fsb-controller --help` from "Build and develop".
    assert.match(result.stdout, /^Usage: fsb-controller \[flags\]$/m);

    const client = await siteClient(site);
    const left = await eventually(
      async () => (await client.listSandboxes({ namespace: "*" })).sandboxes.map((s) => s.name),
      (names) => names.length === 0,
    );
    assert.deepEqual(left, [], "it cleans up after itself");
  });
});

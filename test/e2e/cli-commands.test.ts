// fsb-ctl end to end: bin/fsb-ctl against a real controller, its local agents and the test containerd.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { freePort } from "../harness/agent-process.ts";
import { buildCli, type CliResult, type CliWorkspace, cliWorkspace, FSB_CTL } from "../harness/cli.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";

/** Stops on SIGTERM at once (a shell as PID 1 ignores it otherwise, and each stop would take the grace period). */
const SERVE = "trap exit TERM; echo hello $GREETING; sleep 600 & wait";
const COUNT = "trap exit TERM; i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done";

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

/** One `Error:` line and one `hint:` line, no stack trace, and the exit code. */
function failed(result: CliResult, code: number, message: RegExp, hint?: RegExp): void {
  assert.equal(result.code, code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.match(lines[0] ?? "", /^Error: /, result.stderr);
  assert.match(lines[0]!, message);
  assert.ok(lines.length <= 2, `more than an error and a hint:\n${result.stderr}`);
  if (hint) assert.match(lines[1] ?? "", new RegExp(`^hint: .*${hint.source}`));
}

describe("fsb-ctl", () => {
  let ctl: ControllerProcess;
  let ws: CliWorkspace;
  const conn = testConnection();
  /** Runs fsb-ctl pointed at the test controller through FSB_ENDPOINT and FSB_TOKEN. */
  const cli = (...args: string[]) => ws.run(args, { env: { FSB_ENDPOINT: ctl.url, FSB_TOKEN: ctl.token } });
  const json = async (...args: string[]) => JSON.parse(ok(await cli("-o", "json", ...args)).stdout);

  before(async () => {
    await buildCli();
    [ctl, ws] = await Promise.all([
      conn.then((c) => startControllerProcess({ socketPath: c.socketPath, localAgents: 2, capacity: 3 })),
      cliWorkspace(),
    ]);
  });
  after(async () => {
    await ctl?.cleanup();
    await ws?.cleanup();
    (await conn).close();
  });

  it("run prints name, id, agent, endpoints and create time; list, get and JSON agree", async () => {
    const args = ["web", "--image", "busybox", "-p", "8080", "-e", "GREETING=hi", "--label", "team=a"];
    const run = ok(await cli("run", ...args, "--", "sh", "-c", SERVE));
    assert.match(run.stdout, /^sandbox web created in \d+ ms$/m);
    const id = /^ {2}id +(web-[0-9a-f]{8})$/m.exec(run.stdout)?.[1];
    assert.ok(id, run.stdout);
    assert.match(run.stdout, new RegExp(`^ {2}agent +${ctl.agentPrefix}-\\d+$`, "m"));
    assert.match(run.stdout, /^ {2}endpoints +[\d.]+:8080$/m);

    // Reads only: side by side.
    const [table, listed, got, yaml, names, wide, none, again] = await Promise.all([
      cli("ls").then((r) => ok(r).stdout.trimEnd().split("\n")),
      json("ls"),
      json("get", "web"),
      cli("get", "web").then((r) => parseYaml(ok(r).stdout)),
      cli("ls", "-o", "name").then((r) => ok(r).stdout),
      cli("ls", "-A", "-o", "wide").then((r) => ok(r).stdout),
      cli("ls", "-l", "team=b").then(ok),
      // Creating the same spec again is answered with the existing sandbox, not an error.
      json("run", ...args, "--", "sh", "-c", SERVE),
    ]);
    assert.match(table[0]!, /^NAME +PHASE +IMAGE +AGENT +ENDPOINTS +AGE$/);
    assert.match(table[1]!, /^web +Running +busybox:latest +\S+ +[\d.]+:8080 +\d+s$/);
    assert.equal(table.length, 2);
    assert.equal(listed.length, 1);
    assert.deepEqual(
      { name: listed[0].name, id: listed[0].id, labels: listed[0].labels, env: listed[0].env },
      { name: "web", id, labels: { team: "a" }, env: [{ name: "GREETING", value: "hi" }] },
    );
    assert.equal(got.id, id);
    assert.deepEqual(got.command, ["sh", "-c", SERVE]);
    assert.equal(yaml.id, id, "get prints YAML by default");
    assert.equal(names, "web\n");
    assert.match(
      wide,
      new RegExp(`^default +web +Running .* ${id} +default-pool +fast +never +team=a$`, "m"),
    );
    assert.equal(none.stdout, "");
    assert.match(none.stderr, /No sandboxes in namespace default/);
    assert.deepEqual({ created: again.created, id: again.id }, { created: false, id });
    assert.equal(typeof again.createMs, "number");
    ok(await cli("rm", "web", "--wait", "--grace-period", "0"));
  });

  it("logs -f streams the output until Ctrl-C and exits 0; --tail limits what came before", async () => {
    ok(await cli("run", "counter", "--image", "busybox", "--", "sh", "-c", COUNT));
    const follow = ws.start(["logs", "counter", "-f"], {
      env: { FSB_ENDPOINT: ctl.url, FSB_TOKEN: ctl.token },
    });
    await follow.waitFor(/^line 5$/m);
    const stopped = await follow.interrupt();
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stderr, "", "Ctrl-C is not an error");
    assert.match(stopped.stdout, /^line 0\nline 1\nline 2\n/);

    const tail = ok(await cli("logs", "counter", "--tail", "2"));
    assert.match(tail.stdout, /^line \d+\nline \d+\n$/);
    ok(await cli("rm", "counter", "--wait"));
  });

  it("update changes expiry, failure policy and labels (k- removes k); --no-expire clears the expiry", async () => {
    ok(await cli("run", "upd", "--image", "busybox", "--label", "team=a", "--", "sh", "-c", SERVE));
    const before = Date.now();
    const updated = await json(
      "update",
      "upd",
      "--expire-in",
      "1h",
      "--failure-policy",
      "AutoRecreate",
      "--recovery-timeout",
      "2m",
      "--label",
      "tier=web",
      "--label",
      "team-",
    );
    const expires = Date.parse(updated.expireTime);
    assert.ok(expires >= before + 3_590_000 && expires <= Date.now() + 3_610_000, updated.expireTime);
    assert.equal(updated.failurePolicy, "AutoRecreate");
    assert.equal(updated.recoveryTimeoutSeconds, 120);
    assert.deepEqual(updated.labels, { tier: "web" });

    const text = ok(await cli("update", "upd", "--no-expire"));
    assert.match(text.stdout, /^sandbox upd updated\n(.*\n)* {2}expires +never$/m);
    assert.equal((await json("get", "upd")).expireTime, undefined);
    ok(await cli("rm", "upd", "--wait"));
  });

  it("reset waits for a fresh container and prints the old and new id", async () => {
    const first = await json("run", "rst", "--image", "busybox", "--", "sh", "-c", SERVE);
    const reset = ok(await cli("reset", "rst"));
    const [, from, to] = /^sandbox rst reset in \d+ ms: (\S+) → (\S+)$/m.exec(reset.stdout) ?? [];
    assert.equal(from, first.id);
    assert.ok(to && to !== first.id, reset.stdout);
    const now = await json("get", "rst");
    assert.deepEqual({ id: now.id, phase: now.phase }, { id: to, phase: "Running" });
    ok(await cli("rm", "rst", "--wait"));
  });

  it("delete takes several names and --wait returns once they are gone", async () => {
    await Promise.all(
      ["rm-a", "rm-b"].map(async (name) =>
        ok(await cli("run", name, "--image", "busybox", "--", "sleep", "600")),
      ),
    );
    const deleted = ok(await cli("delete", "rm-a", "rm-b", "--wait", "--grace-period", "0"));
    assert.equal(deleted.stdout, "sandbox rm-a deleted\nsandbox rm-b deleted\n");
    const { sandboxes } = await ctl.client.listSandboxes({});
    assert.deepEqual(
      sandboxes.filter((s) => s.name.startsWith("rm-")),
      [],
    );
    assert.equal(ok(await cli("rm", "rm-a", "--ignore-not-found")).stdout, "sandbox rm-a did not exist\n");
  });

  it("list --watch prints a row for each change and exits 0 on Ctrl-C", async () => {
    const watch = ws.start(["ls", "-w"], { env: { FSB_ENDPOINT: ctl.url, FSB_TOKEN: ctl.token } });
    await watch.waitFor(/^NAME +PHASE/m);
    ok(await cli("run", "watched", "--image", "busybox", "--", "sleep", "600"));
    await watch.waitFor(/^watched +Running /m);
    ok(await cli("rm", "watched", "--grace-period", "0"));
    await watch.waitFor(/^watched +Deleted /m);
    const stopped = await watch.interrupt();
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stderr, "");
  });

  it("reports an unreachable server, a wrong token and an unknown name in one line with a hint, exit 1", async () => {
    const closed = await freePort();
    failed(
      await ws.run(["--endpoint", `http://127.0.0.1:${closed}`, "ls"]),
      1,
      new RegExp(`cannot reach Fast Sandbox at 127\\.0\\.0\\.1:${closed}$`),
      /is it running\?/,
    );
    failed(
      await ws.run(["ls"], { env: { FSB_ENDPOINT: ctl.url, FSB_TOKEN: "wrong" } }),
      1,
      /wrong bearer token/,
      /FSB_TOKEN/,
    );
    failed(await ws.run(["ls"], { env: { FSB_ENDPOINT: ctl.url } }), 1, /missing bearer token/, /FSB_TOKEN/);
    const unknown = [
      ["get", "nope"],
      ["logs", "nope"],
      ["rm", "nope"],
      ["update", "nope", "--expire-in", "1h"],
      ["reset", "nope"],
    ];
    for (const result of await Promise.all(unknown.map((args) => cli(...args)))) {
      failed(result, 1, /^Error: sandbox default\/nope not found$/, /fsb-ctl list -A/);
    }
    failed(
      await cli("rm", "nope", "nope2"),
      1,
      /could not delete nope \(.*not found\), nope2 \(.*not found\)/,
    );
  });

  it("exits 2 when the server refuses the input (INVALID_ARGUMENT), as for a bad flag", async () => {
    failed(
      await cli("run", "Vz", "--image", "busybox", "--", "sleep", "600"),
      2,
      /^Error: name: /,
      /fix the request/,
    );
    ok(await cli("run", "labelled", "--image", "busybox", "--", "sh", "-c", SERVE));
    failed(await cli("update", "labelled", "--label", "bad key=x"), 2, /^Error: labels/, /fix the request/);
    ok(await cli("rm", "labelled", "--wait", "--grace-period", "0"));
  });

  const badCommandLines: Array<[string, string[], RegExp, RegExp]> = [
    ["an unknown option", ["run", "x", "--bogus"], /unknown option '--bogus'/, /fsb-ctl run --help/],
    [
      "a port out of range",
      ["run", "x", "--image", "busybox", "-p", "99999"],
      /"99999" is not a port number/,
      /fsb-ctl run --help/,
    ],
    [
      "a duration without a unit",
      ["run", "x", "--image", "busybox", "--expire-in", "10"],
      /"10" is not a duration/,
      /--help/,
    ],
    [
      "an unknown mode",
      ["run", "x", "--image", "busybox", "--mode", "slow"],
      /Allowed choices are fast, strong/,
      /--help/,
    ],
    [
      "a command not after --",
      ["run", "x", "--image", "busybox", "sleep"],
      /unexpected argument "sleep"/,
      /after --/,
    ],
    ["an unknown command", ["lst"], /unknown command 'lst'/, /did you mean/],
    ["a missing name", ["get"], /missing required argument 'name'/, /fsb-ctl get --help/],
    ["an output list cannot print", ["ls", "-o", "xml"], /cannot print "-o xml"/, /-o json/],
    ["an output a command does not take", ["rm", "x", "-o", "json"], /delete does not take -o/, /.*/],
    ["an update with nothing to change", ["update", "x"], /nothing to update/, /--expire-in/],
    [
      "two expiries at once",
      ["update", "x", "--no-expire", "--expire-in", "1h"],
      /cannot be used with/,
      /--help/,
    ],
    ["a label to set without a value", ["update", "x", "--label", "team="], /use team- to remove/, /--help/],
  ];
  // Each is a separate process that never reaches the server: run them side by side.
  describe("refuses a bad command line with exit 2", { concurrency: true }, () => {
    for (const [what, args, message, hint] of badCommandLines) {
      it(what, async () => {
        failed(await cli(...args), 2, message, hint);
      });
    }
  });

  it("needs no flags with ./.fsb/config.yaml as `npm start` writes it", async () => {
    await ws.writeStandaloneConfig(ctl);
    const bare = (...args: string[]) => ws.run(args);
    ok(await bare("run", "bare", "--image", "busybox", "--", "sleep", "600"));
    assert.match(ok(await bare("ls")).stdout, /^bare +Running /m);
    const view = JSON.parse(ok(await bare("config", "view", "-o", "json")).stdout);
    assert.equal(view.endpoint, ctl.url);
    assert.equal(view.context, "standalone");
    assert.equal(view.token, `****${ctl.token.slice(-4)}`, "the token is masked");
    assert.match(view.sources.endpoint, /^context standalone in .*\/\.fsb\/config\.yaml$/);
    assert.match(view.sources.token, /^tokenFile /);
    assert.match(ok(await bare("version")).stdout, /^server +\d+\.\d+\.\d+ \(node v\d+/m);

    ok(await bare("config", "set", "namespace", "other"));
    assert.match(ok(await bare("ls")).stderr, /No sandboxes in namespace other/);
    ok(await bare("config", "set", "namespace", ""));
    ok(await bare("config", "set", "endpoint", "http://127.0.0.1:1", "--context", "elsewhere"));
    ok(await bare("config", "use-context", "elsewhere"));
    failed(await bare("ls"), 1, /cannot reach Fast Sandbox at 127\.0\.0\.1:1$/);
    assert.match(ok(await bare("--context", "standalone", "ls")).stdout, /^bare +Running /m);
    ok(await bare("config", "use-context", "standalone"));
    failed(
      await bare("config", "use-context", "nope"),
      2,
      /no context "nope" \(known: standalone, elsewhere\)/,
      /config set/,
    );
    failed(await bare("--context", "nope", "ls"), 2, /no context "nope"/, /config view/);
    ok(await bare("rm", "bare", "--wait", "--grace-period", "0"));
  });

  it("version prints client and server, and an unreachable server is not a failure", async () => {
    const both = ok(await cli("version"));
    assert.match(both.stdout, /^client +fsb-ctl \d+\.\d+\.\d+ \(node v24\./m);
    assert.match(
      both.stdout,
      new RegExp(`^server +\\d+\\.\\d+\\.\\d+ \\(node v\\d+.*\\) at ${ctl.url}$`, "m"),
    );
    const down = ok(await ws.run(["--endpoint", "http://127.0.0.1:1", "version", "-o", "json"]));
    assert.match(JSON.parse(down.stdout).server.error, /cannot reach Fast Sandbox/);
  });

  it("bash completion offers the sandbox names the server has", async () => {
    ok(await cli("run", "complete-me", "--image", "busybox", "--", "sleep", "600"));
    const script = ok(await cli("completion", "bash")).stdout;
    const stdout = execFileSync(
      "bash",
      ["-c", `${script}\nCOMP_WORDS=(fsb-ctl logs comp); COMP_CWORD=2; _fsb_ctl; echo "\${COMPREPLY[*]}"`],
      {
        env: {
          ...ws.env,
          FSB_ENDPOINT: ctl.url,
          FSB_TOKEN: ctl.token,
          PATH: `${path.dirname(FSB_CTL)}:${ws.env.PATH}`,
        },
      },
    ).toString();
    assert.equal(stdout.trim(), "complete-me");
    ok(await cli("rm", "complete-me", "--wait", "--grace-period", "0"));
  });
});

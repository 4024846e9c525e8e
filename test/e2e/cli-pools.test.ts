// fsb-ctl apply and pools end to end: bin/fsb-ctl against a real controller whose pool controller launches local agents.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { buildCli, type CliResult, type CliWorkspace, cliWorkspace, FSB_CTL } from "../harness/cli.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually } from "../harness/leftovers.ts";

/** Stops on SIGTERM at once (a shell as PID 1 ignores it otherwise). */
const SERVE = "trap exit TERM; echo hello; sleep 600 & wait";
/** A pool's agents are local processes: up in a second or two, well within this. */
const AGENT_UP_MS = 30_000;
/** A deleted pool goes once its agents have been stopped. */
const POOL_GONE_MS = 30_000;

const POOL_YAML = `# A second pool, and a sandbox placed on it.
apiVersion: sandbox.fast.io/v1alpha1
kind: SandboxPool
metadata:
  name: small-pool
spec:
  capacity:
    poolMin: 1
    poolMax: 2
  maxSandboxesPerPod: 2
---
apiVersion: sandbox.fast.io/v1alpha1
kind: Sandbox
metadata:
  name: on-small
spec:
  image: busybox
  command: ["sh", "-c", "${SERVE}"]
  poolRef: small-pool
`;

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

/** One `Error:` line and at most one `hint:` line, and the exit code. */
function failed(result: CliResult, code: number, message: RegExp, hint?: RegExp): void {
  assert.equal(result.code, code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.match(lines[0] ?? "", /^Error: /, result.stderr);
  assert.match(lines[0]!, message);
  assert.ok(lines.length <= 2, `more than an error and a hint:\n${result.stderr}`);
  if (hint) assert.match(lines[1] ?? "", new RegExp(`^hint: .*${hint.source}`));
}

describe("fsb-ctl apply and pools", () => {
  let ctl: ControllerProcess;
  let ws: CliWorkspace;
  const conn = testConnection();
  /** Runs fsb-ctl pointed at the test controller through FSB_ENDPOINT and FSB_TOKEN. */
  const cli = (...args: string[]) => ws.run(args, { env: { FSB_ENDPOINT: ctl.url, FSB_TOKEN: ctl.token } });
  const cliWithInput = (input: string, ...args: string[]) =>
    ws.run(args, { input, env: { FSB_ENDPOINT: ctl.url, FSB_TOKEN: ctl.token } });
  const json = async (...args: string[]) => JSON.parse(ok(await cli("-o", "json", ...args)).stdout);
  /** Writes a file into the workspace and returns its name there. */
  const file = async (name: string, text: string) => {
    await writeFile(path.join(ws.cwd, name), text);
    return name;
  };
  const poolNames = async () =>
    ok(await cli("pools", "ls", "-o", "name"))
      .stdout.split("\n")
      .filter(Boolean);

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

  it("apply -f creates a pool and a sandbox on it; pools list and get show the pool and its agent", async () => {
    const applied = ok(await cli("apply", "-f", await file("pool.yaml", POOL_YAML)));
    assert.equal(applied.stdout, "sandboxpool/small-pool created\nsandbox/on-small created\n");

    // The sandbox waited for the new pool's agent and runs on it.
    const pool = await eventually(
      () => json("pools", "get", "small-pool"),
      (p) => p.status.agents.length >= 1 && p.status.readyAgents >= 1,
      AGENT_UP_MS,
    );
    assert.equal(pool.apiVersion, "sandbox.fast.io/v1alpha1");
    assert.equal(pool.kind, "SandboxPool");
    assert.equal(pool.metadata.name, "small-pool");
    assert.equal(pool.metadata.namespace, "default");
    assert.ok(pool.metadata.uid, "the object has a uid");
    assert.deepEqual(pool.spec, {
      capacity: { poolMin: 1, poolMax: 2, bufferMin: 0, bufferMax: 10 },
      maxSandboxesPerPod: 2,
      runtimeType: "container",
    });
    const [agent] = pool.status.agents;
    assert.ok(agent.id, JSON.stringify(agent));
    assert.deepEqual(
      { healthy: agent.healthy, draining: agent.draining, capacity: agent.capacity },
      { healthy: true, draining: false, capacity: 2 },
    );
    const box = await json("get", "on-small");
    assert.deepEqual({ phase: box.phase, pool: box.pool }, { phase: "Running", pool: "small-pool" });
    assert.ok(
      pool.status.agents.some((a: { id: string }) => a.id === box.agent),
      `on-small runs on ${box.agent}, not on an agent of small-pool: ${JSON.stringify(pool.status.agents)}`,
    );

    const table = await eventually(
      async () =>
        ok(await cli("pools", "ls"))
          .stdout.trimEnd()
          .split("\n"),
      (lines) => lines.some((l) => /^default-pool +2 +2 +2\/2 /.test(l)),
      AGENT_UP_MS,
    );
    assert.match(table[0]!, /^NAME +MIN +MAX +AGENTS +SLOTS +RUNTIME +AGE$/);
    assert.ok(
      table.some((l) => /^default-pool +2 +2 +2\/2 +0\/6 +container +\d+[smhd]$/.test(l)),
      table.join("\n"),
    );
    assert.ok(
      table.some((l) => /^small-pool +1 +2 +\d\/\d +1\/\d +container +\d+s$/.test(l)),
      table.join("\n"),
    );
    assert.deepEqual((await poolNames()).sort(), ["default-pool", "small-pool"]);
    const wide = ok(await cli("pools", "ls", "-A", "-o", "wide")).stdout;
    assert.match(
      wide,
      /^NAMESPACE +NAME +MIN +MAX +AGENTS +SLOTS +RUNTIME +AGE +BUFFER +PER-AGENT +PREWARM$/m,
    );
    assert.match(wide, /^default +small-pool +1 +2 .* 0-10 +2 +-$/m);

    const text = ok(await cli("pools", "get", "small-pool")).stdout;
    assert.match(text, /^sandboxpool small-pool$/m);
    assert.match(text, /^ {2}agents +1 to 2, 2 sandboxes each$/m);
    assert.match(text, /^ID +NODE +HEALTHY +DRAINING +SLOTS +PREWARM$/m);
    assert.match(text, new RegExp(`^${box.agent} +\\S+ +yes +no +1/2 +\\d+$`, "m"));
  });

  it("a repeated apply says unchanged; a label change says configured", async () => {
    const again = ok(await cli("apply", "-f", "pool.yaml"));
    assert.equal(again.stdout, "sandboxpool/small-pool unchanged\nsandbox/on-small unchanged\n");

    const labelled = POOL_YAML.replace(
      "  name: small-pool\n",
      "  name: small-pool\n  labels: {tier: small}\n",
    );
    const changed = ok(await cliWithInput(labelled, "apply", "-f", "-"));
    assert.equal(changed.stdout, "sandboxpool/small-pool configured\nsandbox/on-small unchanged\n");
    assert.deepEqual((await json("pools", "get", "small-pool")).metadata.labels, { tier: "small" });
  });

  it("the pipe of `fsb-ctl apply --help` works: pools get -o yaml | apply -f -, every time", async () => {
    // Two real fsb-ctl processes joined by a pipe: the reader starts before the writer has written.
    const pipe = "set -o pipefail; fsb-ctl pools get small-pool -o yaml | fsb-ctl apply -f -";
    assert.match(
      ok(await cli("apply", "--help")).stdout,
      /fsb-ctl pools get small-pool -o yaml \| fsb-ctl apply -f -/,
    );
    for (let attempt = 1; attempt <= 3; attempt++) {
      const stdout = execFileSync("bash", ["-c", pipe], {
        cwd: ws.cwd,
        env: {
          ...ws.env,
          FSB_ENDPOINT: ctl.url,
          FSB_TOKEN: ctl.token,
          PATH: `${path.dirname(FSB_CTL)}:${ws.env.PATH}`,
        },
      }).toString();
      assert.equal(stdout, "sandboxpool/small-pool unchanged\n", `attempt ${attempt}`);
    }
  });

  it("refuses a bad document with its index and field, exit 2, and applies none of the file", async () => {
    const typo = await file(
      "typo.yaml",
      "apiVersion: sandbox.fast.io/v1alpha1\nkind: SandboxPool\nmetadata: {name: never-applied}\n---\n" +
        "apiVersion: sandbox.fast.io/v1alpha1\nkind: SandboxPool\nmetadata: {name: typo}\nspec:\n  capacity: {poolMn: 1}\n",
    );
    failed(
      await cli("apply", "-f", typo),
      2,
      /^Error: typo\.yaml, document 2: unknown field spec\.capacity\.poolMn \(known: poolMin, /,
      /fsb-ctl apply --help/,
    );
    const kind = await file(
      "kind.yaml",
      "apiVersion: sandbox.fast.io/v1alpha1\nkind: Pod\nmetadata: {name: x}\n",
    );
    failed(
      await cli("apply", "-f", kind),
      2,
      /kind\.yaml, document 1: kind: "Pod" is not SandboxPool or Sandbox$/,
    );
    assert.ok(!(await poolNames()).includes("never-applied"), "nothing of a bad file is applied");

    // A rule across fields is the server's: INVALID_ARGUMENT, naming the document and the field.
    const inverted = await file(
      "inverted.yaml",
      "apiVersion: sandbox.fast.io/v1alpha1\nkind: SandboxPool\nmetadata: {name: inverted}\n" +
        "spec:\n  capacity: {poolMin: 3, poolMax: 2}\n",
    );
    failed(
      await cli("apply", "-f", inverted),
      2,
      /^Error: inverted\.yaml, document 1 \(sandboxpool\/inverted\): spec\.capacity\.poolMin/,
      /fix the request/,
    );

    failed(
      await cli(
        "-n",
        "other",
        "apply",
        "-f",
        await file(
          "ns.yaml",
          POOL_YAML.replace("  name: small-pool\n", "  name: small-pool\n  namespace: default\n"),
        ),
      ),
      2,
      /ns\.yaml, document 1: metadata\.namespace default does not match --namespace other$/,
    );
  });

  it("bash completion offers the pool names the server has", async () => {
    const script = ok(await cli("completion", "bash")).stdout;
    const stdout = execFileSync(
      "bash",
      ["-c", `${script}\nCOMP_WORDS=(fsb-ctl pools get sm); COMP_CWORD=3; _fsb_ctl; echo "\${COMPREPLY[*]}"`],
      {
        env: {
          ...ws.env,
          FSB_ENDPOINT: ctl.url,
          FSB_TOKEN: ctl.token,
          PATH: `${path.dirname(FSB_CTL)}:${ws.env.PATH}`,
        },
      },
    ).toString();
    assert.equal(stdout.trim(), "small-pool");
  });

  it("pools delete refuses a pool that runs sandboxes, takes --force, and the pool goes once empty", async () => {
    failed(await cli("pools", "delete", "small-pool"), 1, /.+/, /--force/);
    assert.equal((await json("get", "on-small")).phase, "Running", "a refused delete changes nothing");

    const deleted = ok(await cli("pools", "rm", "small-pool", "--force"));
    assert.equal(deleted.stdout, "sandboxpool/small-pool deleted\n");
    assert.equal(
      (await json("get", "on-small")).phase,
      "Running",
      "--force stops agents only as their sandboxes go",
    );
    ok(await cli("rm", "on-small", "--wait", "--grace-period", "0"));

    const names = await eventually(poolNames, (n) => !n.includes("small-pool"), POOL_GONE_MS);
    assert.deepEqual(names, ["default-pool"]);
    failed(await cli("pools", "get", "small-pool"), 1, /small-pool/, /fsb-ctl pools list -A/);
  });
});

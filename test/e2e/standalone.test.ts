// `npm start` (fsb-standalone) against real processes: one instance per state dir, a restart after
// kill -9 or Ctrl-C that adopts or stops everything the earlier run left, and one-line refusals.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { isProcessRunning } from "../../packages/server/src/core/proc-fs.ts";
import { buildCli, type CliResult, cliWorkspace } from "../harness/cli.ts";
import {
  cleanupSite,
  processesOf,
  runStandalone,
  type StandaloneProcess,
  type StandaloneSite,
  sitePids,
  standaloneSite,
  startStandalone,
} from "../harness/standalone-process.ts";

/** What of a site runs, by kind, from the processes that name its state dir. */
function running(site: StandaloneSite) {
  const procs = processesOf(site);
  const of = (test: (argv: string[]) => boolean) => procs.filter((p) => test(p.argv)).map((p) => p.pid);
  const agentIds = procs
    .filter((p) => p.argv[1]?.endsWith("/fsb-agent.ts"))
    .map((p) => p.argv[p.argv.indexOf("--agent-id") + 1]!);
  return {
    standalone: of((argv) => argv[1]?.endsWith("/fsb-standalone.ts") === true),
    containerd: of((argv) => argv[0] === "containerd"),
    janitor: of((argv) => argv[1]?.endsWith("/fsb-janitor.ts") === true),
    agentIds: agentIds.sort(),
  };
}

async function containerdAnswers(socketPath: string): Promise<boolean> {
  const conn = new ContainerdConnection({ socketPath, namespace: "default" });
  try {
    await conn.version.version({}, { timeoutMs: 2000 });
    return true;
  } catch {
    return false;
  } finally {
    conn.close();
  }
}

function oneLine(text: string): string {
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${text}`);
  return lines[0]!;
}

describe("fsb-standalone", () => {
  const sites: StandaloneSite[] = [];
  let site: StandaloneSite;
  let system: StandaloneProcess | undefined;

  before(async () => {
    site = await standaloneSite();
    sites.push(site);
    system = await startStandalone(site);
  });
  after(async () => {
    // Whatever a failure left: the system stops, then every container and every recorded process goes.
    await system?.interrupt();
    for (const s of sites) await cleanupSite(s);
  });

  it("refuses a second start beside a live one in one line, exit 2, and touches nothing of it", async () => {
    const before = sitePids(site);
    const lock = await readFile(path.join(site.stateDir, "standalone.lock"), "utf8");
    const second = await runStandalone(site.args);
    assert.equal(second.code, 2);
    assert.equal(second.stdout, "");
    assert.match(
      oneLine(second.stderr),
      new RegExp(
        `^fsb-standalone: Fast Sandbox is already running from ${site.stateDir} \\(pid ${system!.pid}, API http://127\\.0\\.0\\.1:${site.ports.api}\\)\\. .*kill ${system!.pid}.*--state-dir`,
      ),
    );
    assert.deepEqual(sitePids(site), before, "a process of the running system was replaced");
    assert.ok(before.containerd && isProcessRunning(before.containerd));
    assert.equal(await containerdAnswers(path.join(site.stateDir, "containerd/containerd.sock")), true);
    assert.equal(await readFile(path.join(site.stateDir, "standalone.lock"), "utf8"), lock);
    const created = await system!.client.createSandbox({
      name: "still-serving",
      image: "busybox",
      command: ["sh", "-c", "trap exit TERM; sleep 3600 & wait"],
    });
    assert.equal(created.sandbox?.phase, "Running");
  });

  it("refuses a port in use in one line naming the port and its flag, exit 2, starting nothing", async () => {
    const other = await standaloneSite();
    sites.push(other);
    // The running system's API port, given to a second system in its own state dir.
    const args = other.args.map((a) =>
      a === `127.0.0.1:${other.ports.api}` ? `127.0.0.1:${site.ports.api}` : a,
    );
    const result = await runStandalone(args);
    assert.equal(result.code, 2);
    assert.equal(
      oneLine(result.stderr),
      `fsb-standalone: --api-bind-address: 127.0.0.1:${site.ports.api} is already in use by another process; stop it or pass this flag another address`,
    );
    assert.deepEqual(processesOf(other), [], "something of the refused system runs");
    assert.deepEqual(sitePids(other), { containerd: undefined, janitor: undefined, agents: {} });
    await assert.rejects(readFile(path.join(other.stateDir, "standalone.lock")), { code: "ENOENT" });

    // The janitor's port, held by an unrelated listener.
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(other.ports.janitor, "127.0.0.1", resolve));
    try {
      const janitorPort = await runStandalone(other.args);
      assert.equal(janitorPort.code, 2);
      assert.match(
        oneLine(janitorPort.stderr),
        /^fsb-standalone: --janitor-metrics-bind-address: 127\.0\.0\.1:\d+ is already in use/,
      );
    } finally {
      holder.close();
    }
  });

  it("reports any other start-up failure in one line naming its log, exit 1, and leaves nothing running", async () => {
    const other = await standaloneSite();
    sites.push(other);
    const missing = path.join(other.stateDir, "no-such-containerd.sock");
    const args = other.args.map((a) => (a === "private" ? missing : a));
    const result = await runStandalone(args);
    assert.equal(result.code, 1);
    const log = path.join(other.stateDir, "standalone.log");
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines[0], `fsb-standalone: starting from ${other.stateDir} (log: ${log})`);
    assert.match(
      lines.slice(1).join("\n"),
      new RegExp(
        `^fsb-standalone: no containerd answers on ${missing} \\(given by --containerd or FSB_CONTAINERD_SOCKET\\) \\(details in ${log}\\)$`,
      ),
    );
    assert.match(await readFile(log, "utf8"), /"msg":"failed to start"/, "the details are in the log");
    assert.deepEqual(processesOf(other), []);
    await assert.rejects(readFile(path.join(other.stateDir, "standalone.lock")), { code: "ENOENT" });
  });

  it("after kill -9, a new start adopts or stops containerd, janitor and agents: one of each, nothing of the old run", async () => {
    const { sandbox } = await system!.client
      .getSandbox({ name: "still-serving" })
      .then((s) => ({ sandbox: s }));
    const old = sitePids(site);
    const oldStandalone = system!.pid;
    assert.ok(old.containerd && old.janitor && Object.keys(old.agents).length > 0, JSON.stringify(old));
    await system!.kill9();
    system = undefined;
    assert.equal(isProcessRunning(old.janitor!), true, "the crash took the janitor with it; nothing to test");

    system = await startStandalone(site);
    assert.match(system.output(), /stopped the janitor \(pid \d+\) that an earlier run left running/);
    const now = sitePids(site);
    const parts = running(site);
    assert.deepEqual(parts.standalone, [system.pid]);
    assert.deepEqual(parts.containerd, [now.containerd]);
    assert.deepEqual(parts.janitor, [now.janitor]);
    assert.deepEqual(parts.agentIds, Object.keys(now.agents).sort(), "one process per agent id");
    // Of the old run, only what was adopted still runs.
    assert.equal(isProcessRunning(oldStandalone), false);
    assert.equal(isProcessRunning(old.janitor!), false, "the old janitor still runs");
    assert.notEqual(now.janitor, old.janitor);
    if (now.containerd !== old.containerd) assert.equal(isProcessRunning(old.containerd!), false);
    for (const [agentId, pid] of Object.entries(old.agents)) {
      if (now.agents[agentId] !== pid)
        assert.equal(isProcessRunning(pid), false, `old agent ${agentId} runs`);
    }
    // The sandbox from before the crash runs on, as the same container.
    const after = await system.client.getSandbox({ name: "still-serving" });
    assert.equal(after.phase, "Running");
    assert.equal(after.sandboxId, sandbox.sandboxId);
  });

  it("after Ctrl-C everything of it stops but the sandboxes, and the next start adopts them", async () => {
    // A context the user added with fsb-ctl, and made current, outlives the restart.
    await buildCli();
    const ws = await cliWorkspace();
    const cliDir = path.join(site.stateDir, "cli");
    const fsbCtl = async (...args: string[]) => {
      const result: CliResult = await ws.run(args, { cwd: cliDir });
      assert.equal(result.code, 0, `fsb-ctl ${args.join(" ")}: ${result.stderr}`);
    };
    await fsbCtl("config", "set", "endpoint", "https://fsb.example:9090", "--context", "cluster");
    await fsbCtl("config", "use-context", "cluster");
    await fsbCtl("config", "set", "namespace", "team-a", "--context", "standalone");

    const before = sitePids(site);
    const { sandboxId } = await system!.client.getSandbox({ name: "still-serving" });
    const result = await system!.interrupt();
    system = undefined;
    assert.equal(result.code, 0);
    const left = running(site);
    assert.deepEqual([left.standalone, left.containerd, left.janitor, left.agentIds], [[], [], [], []]);
    for (const pid of [before.containerd!, before.janitor!, ...Object.values(before.agents)]) {
      assert.equal(isProcessRunning(pid), false, `pid ${pid} outlived Ctrl-C`);
    }
    // Only the sandbox's shim still names the state dir (through containerd's socket path).
    assert.ok(processesOf(site).every((p) => p.argv[0]?.includes("containerd-shim")));

    system = await startStandalone(site);
    const again = await system.client.getSandbox({ name: "still-serving" });
    assert.deepEqual([again.phase, again.sandboxId], ["Running", sandboxId]);

    const config = parseYaml(await readFile(path.join(cliDir, ".fsb/config.yaml"), "utf8"));
    assert.equal(config["current-context"], "cluster", "the user's choice of context stands");
    assert.deepEqual(config.contexts.cluster, { endpoint: "https://fsb.example:9090" });
    assert.deepEqual(config.contexts.standalone, {
      endpoint: system.url,
      tokenFile: path.join(site.stateDir, "api-token"),
      namespace: "team-a",
    });
    await ws.cleanup();
    await system.client.deleteSandbox({ name: "still-serving", gracePeriodSeconds: 0 });
  });

  it("a closed terminal (SIGHUP) stops everything of it as Ctrl-C does", async () => {
    system ??= await startStandalone(site);
    const before = sitePids(site);
    const result = await system.interrupt("SIGHUP");
    system = undefined;
    assert.equal(result.code, 0, result.stderr);
    const left = running(site);
    assert.deepEqual([left.standalone, left.containerd, left.janitor, left.agentIds], [[], [], [], []]);
    for (const pid of [before.containerd!, before.janitor!, ...Object.values(before.agents)]) {
      assert.equal(isProcessRunning(pid), false, `pid ${pid} outlived the hang-up`);
    }
  });
});

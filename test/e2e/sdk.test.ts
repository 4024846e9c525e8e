// The TypeScript SDK against a real controller, agents and containerd, as a customer would use it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  AlreadyExistsError,
  AuthError,
  CapacityError,
  FastSandbox,
  InvalidArgumentError,
  NotFoundError,
  type SandboxEvent,
  UnavailableError,
} from "@fast-sandbox/sdk";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { freePort } from "../harness/agent-process.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually, leftoversOf, nothingLeft } from "../harness/leftovers.ts";

const root = path.resolve(import.meta.dirname, "../..");
const SLEEP = { image: "busybox", command: ["sleep", "600"] };
/** Stops at once on SIGTERM, so a reset does not wait out the grace period. */
const SERVE = { image: "busybox", command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"] };

describe("SDK", () => {
  let conn: ContainerdConnection;
  let ctl: ControllerProcess;
  let fsb: FastSandbox;

  before(async () => {
    conn = await testConnection();
    ctl = await startControllerProcess({ socketPath: conn.socketPath, localAgents: 2, capacity: 2 });
    fsb = new FastSandbox({ endpoint: ctl.url, token: ctl.token });
  });
  after(async () => {
    await ctl.cleanup();
    conn.close();
  });

  it("creates, gets, lists, updates, resets and deletes through a Sandbox handle", async () => {
    const box = await fsb.sandboxes.create({
      name: "sdk-a",
      ...SERVE,
      labels: { team: "a" },
      exposedPorts: [18600],
    });
    assert.equal(box.created, true);
    assert.equal(box.phase, "Running");
    // Its own address (network mode isolated, the default).
    assert.match(box.endpoints.join(","), /^10\.212\.\d+\.\d+:18600$/);
    assert.match(box.id, /^sdk-a-[0-9a-f]{8}$/);

    const again = await fsb.sandboxes.create({
      name: "sdk-a",
      ...SERVE,
      labels: { team: "a" },
      exposedPorts: [18600],
    });
    assert.equal(again.created, false);
    assert.equal(again.id, box.id);

    const listed = await fsb.sandboxes.list({ labelSelector: "team=a" });
    assert.deepEqual(
      listed.map((s) => s.name),
      ["sdk-a"],
    );
    await box.refresh();
    assert.equal(box.details.image, "docker.io/library/busybox:latest");

    const updated = await fsb.sandboxes.update("sdk-a", {
      labels: { tier: "web" },
      failurePolicy: "AutoRecreate",
    });
    assert.deepEqual(updated.details.labels, { team: "a", tier: "web" });
    assert.equal(updated.details.failurePolicy, "AutoRecreate");

    const before = box.id;
    await fsb.sandboxes.reset("sdk-a");
    await box.waitUntil((d) => d.phase === "Running" && d.id !== before, { timeoutMs: 20_000 });
    assert.notEqual(box.id, before);

    await box.delete({ gracePeriodSeconds: 0, wait: true, timeoutMs: 20_000 });
    await assert.rejects(fsb.sandboxes.get("sdk-a"), NotFoundError);
    assert.deepEqual(await leftoversOf(conn, box.id), nothingLeft);
  });

  it("streams logs as text, and waits for a phase by watching", async () => {
    const box = await fsb.sandboxes.create({
      name: "sdk-logs",
      image: "busybox",
      command: ["sh", "-c", "echo one; sleep 0.3; echo two; exit 4"],
    });
    let text = "";
    for await (const chunk of box.logs({ follow: true })) text += chunk;
    assert.equal(text, "one\ntwo\n");
    await box.waitUntil("Failed", { timeoutMs: 10_000 });
    assert.equal(box.details.exitCode, 4);
    let tail = "";
    for await (const chunk of fsb.logs("sdk-logs", { tailLines: 1 })) tail += chunk;
    assert.equal(tail, "two\n");
    await box.delete({ gracePeriodSeconds: 0, wait: true, timeoutMs: 20_000 });
  });

  it("watches: the current list, synced, then changes", async () => {
    const abort = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const event of fsb.sandboxes.watch({ signal: abort.signal })) {
        seen.push(describeEvent(event));
        if (seen.includes("deleted:sdk-w")) return;
      }
    })();
    await eventually(() => seen.includes("synced"), Boolean);
    await fsb.sandboxes.create({ name: "sdk-w", ...SLEEP, mode: "strong" });
    await fsb.sandboxes.delete("sdk-w", { gracePeriodSeconds: 0 });
    const timer = setTimeout(() => abort.abort(), 20_000);
    await watching;
    clearTimeout(timer);
    abort.abort();
    assert.ok(seen.includes("added:sdk-w"), seen.join(" "));
    assert.ok(seen.includes("modified:sdk-w"), seen.join(" "));
    assert.ok(seen.includes("deleted:sdk-w"), seen.join(" "));
  });

  it("throws typed errors that keep the code and carry a hint", async () => {
    await fsb.sandboxes.create({ name: "sdk-e", ...SLEEP });
    await assert.rejects(
      fsb.sandboxes.create({ name: "sdk-e", image: "busybox", command: ["sleep", "1"] }),
      AlreadyExistsError,
    );
    await assert.rejects(
      fsb.sandboxes.create({ name: "sdk-e2", image: "busybox", exposedPorts: [0] }),
      (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError);
        assert.equal(err.field, "exposedPorts[0]");
        assert.equal(err.code, "invalid_argument");
        return true;
      },
    );
    await assert.rejects(
      new FastSandbox({ endpoint: ctl.url, token: "wrong" }).sandboxes.list(),
      (err: unknown) => {
        assert.ok(err instanceof AuthError);
        assert.match(err.hint ?? "", /FSB_TOKEN/);
        return true;
      },
    );
    // 2 agents x 2 slots, one taken: three more fit, the fourth does not.
    for (const n of [1, 2, 3]) await fsb.sandboxes.create({ name: `sdk-fill-${n}`, ...SLEEP });
    await assert.rejects(fsb.sandboxes.create({ name: "sdk-over", ...SLEEP }), CapacityError);
    for (const n of ["sdk-e", "sdk-fill-1", "sdk-fill-2", "sdk-fill-3"]) {
      await fsb.sandboxes.delete(n, { gracePeriodSeconds: 0, wait: true, timeoutMs: 20_000 });
    }

    const nowhere = new FastSandbox({ endpoint: `http://127.0.0.1:${await freePort()}`, token: "t" });
    await assert.rejects(nowhere.sandboxes.list(), (err: unknown) => {
      assert.ok(err instanceof UnavailableError);
      assert.match(err.message, /^cannot reach Fast Sandbox at 127\.0\.0\.1:\d+$/);
      assert.match(err.hint ?? "", /npm start/);
      return true;
    });
  });

  it("honours an AbortSignal and a timeout", async () => {
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(fsb.sandboxes.list({ signal: abort.signal }));
    const box = await fsb.sandboxes.create({ name: "sdk-t", ...SLEEP });
    await assert.rejects(box.waitUntil("Expired", { timeoutMs: 300 }), /did not reach Expired in time/);
    await box.delete({ gracePeriodSeconds: 0, wait: true, timeoutMs: 20_000 });
  });

  it("runs the example in examples/", async () => {
    const started = Date.now();
    const { code, output } = await run(process.execPath, [path.join(root, "examples/quickstart.ts")], {
      FSB_ENDPOINT: ctl.url,
      FSB_TOKEN: ctl.token,
    });
    const ms = Date.now() - started;
    assert.equal(code, 0, output);
    assert.ok(ms < 10_000, `the example took ${ms} ms: something kept the process alive after it finished`);
    assert.match(output, /created quickstart-\d+ \(quickstart-\d+-[0-9a-f]{8}\) on \S+: Running/);
    assert.match(output, /hello from quickstart-\d+\nbye\n/);
    assert.match(output, /Succeeded: exited with code 0\ndeleted/);
  });
});

function describeEvent(event: SandboxEvent): string {
  return event.type === "synced" ? "synced" : `${event.type}:${event.sandbox.name}`;
}

function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("exit", (code) => resolve({ code, output }));
  });
}

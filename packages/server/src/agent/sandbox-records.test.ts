// SandboxRecords: how task events and resync answers change what the status reports (pure, no containerd).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import type { TaskStatus } from "../containerd/container-runtime.ts";
import type { SandboxRecord } from "./sandbox-record.ts";
import { SandboxRecords } from "./sandbox-records.ts";
import { StatusRevision } from "./status-revision.ts";

const EXITED_AT = new Date("2030-01-01T00:00:05Z");

function record(sandboxId: string, overrides: Partial<SandboxRecord> = {}): SandboxRecord {
  return {
    identity: {
      sandboxId,
      containerId: sandboxId,
      name: "box",
      namespace: "default",
      uid: "",
      pool: "default-pool",
      image: "docker.io/library/busybox:latest",
      exposedPorts: [8080],
      specHash: "h",
      network: { mode: "agent" },
      createdAt: new Date("2030-01-01T00:00:00Z"),
      logPath: `/logs/${sandboxId}.log`,
    },
    phase: "Running",
    taskState: "running",
    pid: 42,
    exitCode: undefined,
    exitedAt: undefined,
    oomKilled: false,
    ...overrides,
  };
}

function setup() {
  const revision = new StatusRevision();
  const records = new SandboxRecords({
    advertiseAddress: "10.0.0.7",
    revision,
    logger: pino({ level: "silent" }),
  });
  const exits: string[] = [];
  records.onExit((id) => exits.push(id));
  return { revision, records, exits };
}

const task = (state: TaskStatus["state"], exitCode?: number): TaskStatus => ({
  state,
  pid: 42,
  exitCode,
  exitedAt: state === "stopped" ? EXITED_AT : undefined,
});

describe("SandboxRecords", () => {
  it("reports a tracked sandbox with its endpoints, and bumps the revision for it", () => {
    const { revision, records } = setup();
    const before = revision.value;
    records.track(record("sb-1"));
    assert.ok(revision.value > before);
    const [status] = records.list();
    assert.equal(status?.phase, "Running");
    assert.equal(status?.taskState, "running");
    assert.deepEqual(status?.endpoints, ["10.0.0.7:8080"]);
    assert.equal(status?.exitReason, undefined);
  });

  it("applies an exit event: Exited with its code, listeners told, revision bumped", () => {
    const { revision, records, exits } = setup();
    records.track(record("sb-1"));
    const before = revision.value;
    const handled = records.handleEvent({
      kind: "exit",
      containerId: "sb-1",
      pid: 42,
      exitCode: 3,
      exitedAt: EXITED_AT,
    });
    assert.equal(handled, true);
    const [status] = records.list();
    assert.equal(status?.phase, "Exited");
    assert.equal(status?.taskState, "stopped");
    assert.equal(status?.exitCode, 3);
    assert.deepEqual(status?.exitedAt, EXITED_AT);
    assert.deepEqual(exits, ["sb-1"]);
    assert.ok(revision.value > before);
  });

  it("gives an exit that follows an OOM event the reason OOMKilled", () => {
    const { records } = setup();
    records.track(record("sb-1"));
    assert.equal(records.handleEvent({ kind: "oom", containerId: "sb-1" }), true);
    assert.equal(records.list()[0]?.exitReason, undefined, "no reason before the process has exited");
    records.handleEvent({ kind: "exit", containerId: "sb-1", pid: 42, exitCode: 137, exitedAt: EXITED_AT });
    assert.equal(records.list()[0]?.exitReason, "OOMKilled");
    assert.equal(records.list()[0]?.exitCode, 137);
  });

  it("gives the reason OOMKilled when the OOM event comes after the exit, and tells of the change", () => {
    const { revision, records } = setup();
    records.track(record("sb-1"));
    records.handleEvent({ kind: "exit", containerId: "sb-1", pid: 42, exitCode: 137, exitedAt: EXITED_AT });
    assert.equal(records.list()[0]?.exitReason, undefined);
    const before = revision.value;
    assert.equal(records.handleEvent({ kind: "oom", containerId: "sb-1" }), true);
    assert.equal(records.list()[0]?.exitReason, "OOMKilled");
    assert.ok(revision.value > before, "the status changed");
  });

  it("leaves events of containers it does not track to the caller", () => {
    const { revision, records } = setup();
    records.track(record("sb-1"));
    const before = revision.value;
    assert.equal(
      records.handleEvent({ kind: "exit", containerId: "pw-1", pid: 7, exitCode: 0, exitedAt: undefined }),
      false,
    );
    assert.equal(records.handleEvent({ kind: "oom", containerId: "pw-1" }), false);
    assert.equal(revision.value, before);
  });

  it("maps a sandbox's events through the prewarmed container it moved to", () => {
    const { records } = setup();
    const r = record("sb-1", { phase: "Creating", taskState: "unknown" });
    records.track(r);
    records.moveTo(r, { containerId: "pw-1", logPath: "/logs/pw-1.log" });
    assert.equal(
      records.handleEvent({ kind: "exit", containerId: "sb-1", pid: 1, exitCode: 0, exitedAt: undefined }),
      false,
    );
    // A fast process's exit can come before the start answers; the start then reports it exited.
    assert.equal(
      records.handleEvent({ kind: "exit", containerId: "pw-1", pid: 9, exitCode: 0, exitedAt: EXITED_AT }),
      true,
    );
    records.started(r, 9);
    assert.equal(records.list()[0]?.phase, "Exited");
    assert.equal(records.list()[0]?.containerId, "pw-1");
  });

  it("asks a resync only about settled running sandboxes", () => {
    const { records } = setup();
    records.track(record("running"));
    records.track(record("creating", { phase: "Creating", taskState: "unknown" }));
    records.track(record("exited", { phase: "Exited", taskState: "stopped", exitCode: 0 }));
    records.track(record("deleting", { deleted: new Promise(() => {}) }));
    assert.deepEqual(
      records.taskChecks().map((c) => c.containerId),
      ["running"],
    );
  });

  const observations: Array<{
    name: string;
    task: TaskStatus;
    phase: string;
    taskState: string;
    exitCode: number | undefined;
    notified: boolean;
    bumps: boolean;
  }> = [
    {
      name: "still running: nothing changes",
      task: task("running"),
      phase: "Running",
      taskState: "running",
      exitCode: undefined,
      notified: false,
      bumps: false,
    },
    {
      name: "stopped: the exit no event reported",
      task: task("stopped", 9),
      phase: "Exited",
      taskState: "stopped",
      exitCode: 9,
      notified: true,
      bumps: true,
    },
    {
      name: "missing: removed behind the agent's back, no exit code known",
      task: task("missing"),
      phase: "Exited",
      taskState: "missing",
      exitCode: undefined,
      notified: true,
      bumps: true,
    },
    {
      name: "paused: still Running, task state follows",
      task: task("paused"),
      phase: "Running",
      taskState: "paused",
      exitCode: undefined,
      notified: false,
      bumps: true,
    },
  ];
  for (const o of observations) {
    it(`applies a resync answer: ${o.name}`, () => {
      const { revision, records, exits } = setup();
      records.track(record("sb-1"));
      const [check] = records.taskChecks();
      const before = revision.value;
      check?.observe(o.task);
      const [status] = records.list();
      assert.equal(status?.phase, o.phase);
      assert.equal(status?.taskState, o.taskState);
      assert.equal(status?.exitCode, o.exitCode);
      assert.deepEqual(exits, o.notified ? ["sb-1"] : []);
      assert.equal(revision.value > before, o.bumps);
    });
  }

  it("ignores a resync answer about a sandbox deleted or replaced since the check was made", () => {
    const { records } = setup();
    const first = record("sb-1");
    records.track(first);
    const [check] = records.taskChecks();
    records.untrack(first);
    const second = record("sb-1");
    records.track(second);
    check?.observe(task("stopped", 1));
    assert.equal(records.list()[0]?.phase, "Running");
  });
});

// Which event each status change tells (pure), for the changes the reconciler tests do not reach easily.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SandboxPhase, type SandboxStatus } from "@fast-sandbox/api";
import type { Allocation } from "../registry/agent-registry.ts";
import { deletedEvent, fastCreateEvents, sandboxEvent } from "./sandbox-events.ts";
import {
  createFailed,
  pending,
  recoveryTimedOut,
  reset,
  scheduled,
  started,
  succeeded,
} from "./transitions.ts";

const NOW = Date.parse("2026-11-22T12:00:00Z");
const allocation = { agentId: "a1", nodeName: "n1", address: "10.0.0.1", ports: [] } as unknown as Allocation;
const bound = scheduled(pending(), { sandboxId: "s-1", allocation }, NOW);
const running = started(bound, { endpoints: [] }, NOW);

const told = (before: SandboxStatus, after: SandboxStatus) => {
  const e = sandboxEvent(before, after);
  return e && `${e.type} ${e.reason}/${e.action}: ${e.note}`;
};

describe("sandboxEvent", () => {
  const cases: Array<{
    name: string;
    before: SandboxStatus;
    after: SandboxStatus;
    want: string | undefined;
  }> = [
    {
      name: "a create the agent failed for now: a warning, Pending again",
      before: bound,
      after: createFailed(bound, "agent unreachable", false, NOW),
      want: "Warning CreateFailed/Start: AgentCreateFailed: agent unreachable",
    },
    {
      name: "a create whose request is wrong: Failed",
      before: bound,
      after: createFailed(bound, "bad image", true, NOW),
      want: "Warning Failed/Observe: AgentCreateFailed: bad image",
    },
    {
      name: "a recreation that ran out of time",
      before: { ...pending(), recreations: 1 },
      after: recoveryTimedOut({ ...pending(), recreations: 1 }, NOW),
      want: "Warning Failed/Observe: RecoveryTimedOut: could not be recreated within recoveryTimeoutSeconds",
    },
    {
      name: "a reset",
      before: running,
      after: reset(running, undefined, NOW),
      want: "Normal Resetting/Reset: Reset requested; starting a fresh container",
    },
    {
      name: "an exit with code 0",
      before: running,
      after: succeeded(running, NOW),
      want: "Normal Completed/Observe: The container exited with code 0",
    },
    { name: "a status written again unchanged", before: running, after: running, want: undefined },
    {
      name: "Terminating tells nothing (Deleted follows)",
      before: running,
      after: { ...running, phase: SandboxPhase.Terminating },
      want: undefined,
    },
    {
      name: "the same failed create written again tells nothing new",
      before: createFailed(bound, "x", false, NOW),
      after: createFailed(bound, "x", false, NOW),
      want: undefined,
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(told(c.before, c.after), c.want));
  }

  it("a deletion without the agent says the janitor removes the container", () => {
    assert.match(deletedEvent(true).note, /janitor/);
    assert.equal(deletedEvent(false).reason, "Deleted");
  });
});

describe("fastCreateEvents", () => {
  const tell = (status: SandboxStatus) =>
    fastCreateEvents(status).map((e) => `${e.type} ${e.reason}/${e.action}: ${e.note}`);

  it("tells a fast create that runs: Scheduled on its agent, then Started", () => {
    const events = tell(running);
    assert.equal(events.length, 2);
    assert.match(events[0]!, /^Normal Scheduled\/Schedule: .*a1/);
    assert.equal(events[1], "Normal Started/Start: Started on agent a1");
  });

  it("tells a fast create answered before the start (Bound): Scheduled only", () => {
    assert.deepEqual(
      tell(bound).map((e) => e.split(":")[0]),
      ["Normal Scheduled/Schedule"],
    );
  });

  it("tells nothing of a status that is not placed", () => {
    assert.deepEqual(tell(pending()), []);
  });
});

// What one status means to a strong create that waits on it, and the error it answers with.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError, type Sandbox, type SandboxStatus } from "@fast-sandbox/api";
import { sandboxFixture } from "./sandbox-fixture.ts";
import { failureOf } from "./strong-create.ts";
import { type SettledOutcome, settledOutcome } from "./transitions.ts";

const at = "2026-11-22T12:00:00Z";
function withStatus(status: SandboxStatus): Sandbox {
  return sandboxFixture({ status, metadata: { creationTimestamp: at } });
}
const scheduled = (reason: string, message = "why") => [
  { type: "Scheduled", status: "False" as const, reason, message, lastTransitionTime: at },
];

describe("settledOutcome", () => {
  const cases: Array<{ name: string; status: SandboxStatus; outcome: SettledOutcome }> = [
    { name: "running", status: { phase: "Running" }, outcome: "running" },
    { name: "failed", status: { phase: "Failed" }, outcome: "failed" },
    { name: "just written", status: { phase: "Pending" }, outcome: "pending" },
    { name: "bound", status: { phase: "Bound" }, outcome: "pending" },
    { name: "no slot", status: { phase: "Pending", conditions: scheduled("NoCapacity") }, outcome: "noRoom" },
    {
      name: "no agent with the image (yet)",
      status: { phase: "Pending", conditions: scheduled("ImageNotCached") },
      outcome: "noRoom",
    },
    {
      name: "the pool does not exist: refused, no growth cures it",
      status: { phase: "Pending", conditions: scheduled("PoolNotFound") },
      outcome: "refused",
    },
    {
      name: "ports on a gVisor pool: refused",
      status: { phase: "Pending", conditions: scheduled("ExposedPortsUnsupported") },
      outcome: "refused",
    },
    {
      name: "the agent failed the create",
      status: { phase: "Pending", conditions: scheduled("AgentCreateFailed") },
      outcome: "createFailed",
    },
    {
      name: "a declared port in use on the node: the agent's refusal, answered at once",
      status: { phase: "Pending", conditions: scheduled("PortInUse") },
      outcome: "createFailed",
    },
    {
      name: "being recreated",
      status: { phase: "Pending", conditions: scheduled("Recreating") },
      outcome: "pending",
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(settledOutcome(withStatus(c.status)), c.outcome));
});

describe("failureOf", () => {
  it("prefers the create's own error, code and all", () => {
    const own = new FsbError(ErrorCode.Unavailable, "agent a1 is unreachable");
    assert.equal(failureOf(withStatus({ phase: "Pending" }), own), own);
  });
  it("rebuilds the code from the conditions otherwise", () => {
    const cases: Array<[SandboxStatus, ErrorCode]> = [
      [{ phase: "Pending", conditions: scheduled("NoCapacity") }, ErrorCode.ResourceExhausted],
      [{ phase: "Pending", conditions: scheduled("ImageNotCached") }, ErrorCode.FailedPrecondition],
      [{ phase: "Pending", conditions: scheduled("AgentCreateFailed") }, ErrorCode.Unavailable],
      [
        {
          phase: "Failed",
          conditions: [
            {
              type: "Ready",
              status: "False",
              reason: "AgentCreateFailed",
              message: "command: not found",
              lastTransitionTime: at,
            },
          ],
        },
        ErrorCode.InvalidArgument,
      ],
    ];
    for (const [status, code] of cases) assert.equal(failureOf(withStatus(status)).code, code);
  });
  it("gives a rebuilt error its field as data, the message unchanged", () => {
    const ready = (message: string): SandboxStatus => ({
      phase: "Failed",
      conditions: [
        { type: "Ready", status: "False", reason: "AgentCreateFailed", message, lastTransitionTime: at },
      ],
    });
    const err = failureOf(withStatus(ready('sandbox.command: "/no/such" was not found in the image')));
    assert.equal(err.field, "command");
    assert.equal(err.rawMessage, '"/no/such" was not found in the image');
    assert.equal(err.message, 'command: "/no/such" was not found in the image');
    const pool = failureOf(
      withStatus({
        phase: "Pending",
        conditions: scheduled("PoolNotFound", 'poolRef: pool "gpu" does not exist in namespace "default"'),
      }),
    );
    assert.deepEqual(
      [pool.code, pool.field, pool.rawMessage],
      [ErrorCode.FailedPrecondition, "poolRef", 'pool "gpu" does not exist in namespace "default"'],
    );
    const image = failureOf(
      withStatus({
        phase: "Pending",
        conditions: scheduled("ImageNotCached", "image: x is not on any agent"),
      }),
    );
    assert.deepEqual([image.field, image.rawMessage], ["image", "x is not on any agent"]);
    const port = failureOf(
      withStatus({
        phase: "Pending",
        conditions: scheduled("PortInUse", "exposedPorts[2]: port 80 is already in use"),
      }),
    );
    assert.deepEqual(
      [port.code, port.field, port.rawMessage],
      [ErrorCode.FailedPrecondition, "exposedPorts[2]", "port 80 is already in use"],
    );
    const plain = failureOf(withStatus(ready("containerd: create task sb-1: shim died")));
    assert.equal(plain.field, undefined);
    assert.equal(plain.code, ErrorCode.FailedPrecondition);
  });
});

// The retry decision and the API error of a failed agent create, as tables.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { AgentCallError, type AgentDelivery } from "./agent-call-error.ts";
import {
  apiErrorOfCreate,
  apiErrorOfStore,
  decideCreateRetry,
  isPortInUse,
  type RetryDecision,
} from "./create-failure.ts";

const agentError = (code: ErrorCode, delivery: AgentDelivery, field?: string) =>
  new AgentCallError(code, "it broke", { delivery, ...(field ? { field } : {}) });

describe("decideCreateRetry", () => {
  const cases: Array<{ name: string; err: unknown; attempt?: number; decision: RetryDecision }> = [
    {
      name: "connection refused before sending: elsewhere",
      err: agentError(ErrorCode.Unavailable, "not-sent"),
      decision: "retryElsewhere",
    },
    {
      name: "the agent answered UNAVAILABLE (a shim-start race): elsewhere",
      err: agentError(ErrorCode.Unavailable, "answered"),
      decision: "retryElsewhere",
    },
    {
      name: "the agent answered RESOURCE_EXHAUSTED (full after all): elsewhere",
      err: agentError(ErrorCode.ResourceExhausted, "answered"),
      decision: "retryElsewhere",
    },
    {
      name: "a timeout after sending: only once the first agent has no container",
      err: agentError(ErrorCode.DeadlineExceeded, "unknown"),
      decision: "verifyThenRetry",
    },
    {
      name: "a connection broken mid-call: the same",
      err: agentError(ErrorCode.Unavailable, "unknown"),
      decision: "verifyThenRetry",
    },
    {
      name: "a bad command fails everywhere",
      err: agentError(ErrorCode.InvalidArgument, "answered", "sandbox.command"),
      decision: "giveUp",
    },
    {
      name: "an image not on the node",
      err: agentError(ErrorCode.FailedPrecondition, "answered"),
      decision: "giveUp",
    },
    {
      name: "an agent INTERNAL error is not known to have rolled back",
      err: agentError(ErrorCode.Internal, "answered"),
      decision: "giveUp",
    },
    {
      name: "never a third agent",
      err: agentError(ErrorCode.Unavailable, "not-sent"),
      attempt: 2,
      decision: "giveUp",
    },
    {
      name: "not an agent call (the registry, the store)",
      err: new FsbError(ErrorCode.Unavailable, "store is down"),
      decision: "giveUp",
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(decideCreateRetry(c.err, c.attempt ?? 1), c.decision));
  }
});

describe("apiErrorOfCreate", () => {
  const cases: Array<{ name: string; err: unknown; code: ErrorCode; message: RegExp; field?: string }> = [
    {
      name: "a bad command keeps its code and gets the API's field name",
      err: agentError(ErrorCode.InvalidArgument, "answered", "sandbox.command"),
      code: ErrorCode.InvalidArgument,
      message: /^command: it broke$/,
      field: "command",
    },
    {
      name: "an agent INTERNAL error is UNAVAILABLE naming the agent",
      err: agentError(ErrorCode.Internal, "answered"),
      code: ErrorCode.Unavailable,
      message: /agent a1 could not create the sandbox \(INTERNAL\): it broke/,
    },
    {
      name: "an agent that ran out of room is UNAVAILABLE, not RESOURCE_EXHAUSTED",
      err: agentError(ErrorCode.ResourceExhausted, "answered"),
      code: ErrorCode.Unavailable,
      message: /agent a1 had no room after all/,
    },
    {
      name: "a wrong agent token is not the caller's UNAUTHENTICATED",
      err: agentError(ErrorCode.Unauthenticated, "answered"),
      code: ErrorCode.Unavailable,
      message: /agent token/,
    },
    {
      name: "a timeout",
      err: agentError(ErrorCode.DeadlineExceeded, "unknown"),
      code: ErrorCode.Unavailable,
      message: /did not finish the create in time/,
    },
    {
      name: "unreachable",
      err: agentError(ErrorCode.Unavailable, "not-sent"),
      code: ErrorCode.Unavailable,
      message: /agent a1 is unreachable/,
    },
    {
      name: "other FsbErrors pass through",
      err: new FsbError(ErrorCode.ResourceExhausted, "no room"),
      code: ErrorCode.ResourceExhausted,
      message: /^no room$/,
    },
    {
      name: "anything else is a bug: INTERNAL",
      err: new TypeError("x is undefined"),
      code: ErrorCode.Internal,
      message: /x is undefined/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = apiErrorOfCreate(c.err, "a1");
      assert.equal(got.code, c.code);
      assert.match(got.message, c.message);
      assert.equal(got.field, c.field);
    });
  }
});

describe("isPortInUse", () => {
  it("is a FAILED_PRECONDITION on one exposed port (the agent's port check), nothing else", () => {
    const api = (code: ErrorCode, field?: string) => new FsbError(code, "x", field ? { field } : {});
    assert.equal(isPortInUse(api(ErrorCode.FailedPrecondition, "exposedPorts[3]")), true);
    assert.equal(isPortInUse(api(ErrorCode.FailedPrecondition, "exposedPorts")), false, "gVisor: for good");
    assert.equal(isPortInUse(api(ErrorCode.FailedPrecondition, "image")), false);
    assert.equal(isPortInUse(api(ErrorCode.InvalidArgument, "exposedPorts[0]")), false);
  });
  it("a port in use is never retried on another agent (they may share the node's network)", () => {
    const err = agentError(ErrorCode.FailedPrecondition, "answered", "sandbox.exposedPorts[0]");
    assert.equal(decideCreateRetry(err, 1), "giveUp");
    assert.equal(apiErrorOfCreate(err, "a1").field, "exposedPorts[0]");
  });
});

describe("apiErrorOfStore", () => {
  it("turns the store's INTERNAL (a SQLite error) into UNAVAILABLE, saying what failed", () => {
    const got = apiErrorOfStore(
      new FsbError(ErrorCode.Internal, "SQLITE_FULL: database or disk is full"),
      "recording the sandbox",
    );
    assert.ok(got instanceof FsbError);
    assert.equal(got.code, ErrorCode.Unavailable);
    assert.match(got.message, /^the store failed while recording the sandbox: SQLITE_FULL/);
  });
  it("keeps the store's other codes", () => {
    const err = new FsbError(ErrorCode.Unavailable, "the store is closed");
    assert.equal(apiErrorOfStore(err, "x"), err);
  });
});

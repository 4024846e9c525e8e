// The agent → controller error hop: the agent's JSON error keeps `field` out of `message`, and the
// controller's AgentClient rebuilds the same error (code, field, raw message) without text surgery.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { ErrorCode, FsbError, invalidArgument } from "@fast-sandbox/api";
import { errorBody, httpStatusFor } from "../http/responses.ts";
import { AgentCallError } from "./agent-call-error.ts";
import { AgentClient } from "./agent-client.ts";

describe("agent error hop", () => {
  let answer: FsbError = invalidArgument("sandbox.command", "is empty");
  let server: Server;
  let client: AgentClient;

  before(async () => {
    server = createServer((_req, res) => {
      res.writeHead(httpStatusFor(answer.code), { "content-type": "application/json" });
      res.end(JSON.stringify(errorBody(answer)));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    client = new AgentClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, undefined);
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("the JSON body carries field and message apart", () => {
    assert.deepEqual(errorBody(invalidArgument("sandbox.command", "is empty")), {
      success: false,
      error: { code: "INVALID_ARGUMENT", message: "is empty", field: "sandbox.command" },
    });
  });

  const cases: Array<{ name: string; sent: FsbError; field?: string; raw: string; message: string }> = [
    {
      name: "an error with a field",
      sent: invalidArgument("sandbox.command", "is empty"),
      field: "sandbox.command",
      raw: "is empty",
      message: "sandbox.command: is empty",
    },
    {
      name: "a containerd error, whose text has a colon but no field",
      sent: new FsbError(ErrorCode.Unavailable, "containerd: create task sb-1: shim died"),
      raw: "containerd: create task sb-1: shim died",
      message: "containerd: create task sb-1: shim died",
    },
  ];
  for (const tc of cases) {
    it(`the controller reads back ${tc.name}`, async () => {
      answer = tc.sent;
      const err = await client.status().then(
        () => assert.fail("want an error"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AgentCallError);
      assert.equal(err.delivery, "answered");
      assert.equal(err.code, tc.sent.code);
      assert.equal(err.field, tc.field);
      assert.equal(err.rawMessage, tc.raw);
      assert.equal(err.message, tc.message);
    });
  }
});

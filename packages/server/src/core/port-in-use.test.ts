// A taken port is one error naming the port and the flag that sets it; two flags on one port are refused.
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { ErrorCode, isFsbError } from "@fast-sandbox/api";
import { assertPortsFree, portInUseError } from "./port-in-use.ts";

function listenError(code: string, port: number, address = "127.0.0.1"): Error {
  return Object.assign(new Error(`listen ${code}: ${address}:${port}`), { code, port, address });
}

describe("portInUseError", () => {
  const ports = [
    { flag: "--api-bind-address", host: "127.0.0.1", port: 9090 },
    { flag: "--metrics-bind-address", host: "", port: 9091 },
  ];
  const cases: Array<{ name: string; err: unknown; field?: string; message?: RegExp }> = [
    {
      name: "EADDRINUSE on a flagged port",
      err: listenError("EADDRINUSE", 9090),
      field: "--api-bind-address",
      message: /^--api-bind-address: 127\.0\.0\.1:9090 is already in use by another process; /,
    },
    {
      name: "a port on every interface",
      err: listenError("EADDRINUSE", 9091, "::"),
      field: "--metrics-bind-address",
      message: /^--metrics-bind-address: \*:9091 is already in use/,
    },
    {
      name: "EACCES on a flagged port",
      err: listenError("EACCES", 9090),
      field: "--api-bind-address",
      message: /needs privileges/,
    },
    { name: "EADDRINUSE on a port no flag sets", err: listenError("EADDRINUSE", 5758) },
    { name: "another error", err: Object.assign(new Error("boom"), { code: "ECONNRESET", port: 9090 }) },
    { name: "not an error at all", err: undefined },
  ];
  for (const tc of cases) {
    it(tc.field ? `names the flag for ${tc.name}` : `leaves ${tc.name} alone`, () => {
      const got = portInUseError(tc.err, ports);
      if (!tc.field) return assert.equal(got, undefined);
      assert.ok(isFsbError(got, ErrorCode.FailedPrecondition));
      assert.equal(got.field, tc.field);
      assert.match(got.message, tc.message!);
      assert.equal(got.message.includes("\n"), false, "one line");
    });
  }
});

describe("assertPortsFree", () => {
  it("passes free and port-0 addresses, and refuses a taken port naming its flag", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const taken = (server.address() as net.AddressInfo).port;
    try {
      await assertPortsFree([{ flag: "--a", host: "127.0.0.1", port: 0 }]);
      await assert.rejects(
        assertPortsFree([
          { flag: "--a", host: "127.0.0.1", port: 0 },
          { flag: "--b", host: "127.0.0.1", port: taken },
        ]),
        (err) => isFsbError(err, ErrorCode.FailedPrecondition) && err.field === "--b",
      );
    } finally {
      server.close();
    }
  });

  it("refuses two flags that name the same port, before binding anything", async () => {
    await assert.rejects(
      assertPortsFree([
        { flag: "--api-bind-address", host: "", port: 1 },
        { flag: "--metrics-bind-address", host: "127.0.0.1", port: 1 },
      ]),
      (err) =>
        isFsbError(err, ErrorCode.InvalidArgument) &&
        err.message === "--metrics-bind-address: port 1 is also set by --api-bind-address",
    );
  });
});

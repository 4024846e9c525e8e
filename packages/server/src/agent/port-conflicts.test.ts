// A declared port something already listens on is found in /proc/<pid>/net/tcp{,6} and refused
// with the port's field; gVisor agents refuse exposed ports outright.
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { ErrorCode } from "@fast-sandbox/api";
import {
  gvisorPortsError,
  listeningPorts,
  parseListeningPorts,
  portInUseError,
  procDirOf,
} from "./port-conflicts.ts";

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4178873 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4178884 1 0000000000000000 100 0 0 10 0
   2: 0100007F:A06D 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4178885 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:1F91 0100007F:C350 06 00000000:00000000 03:00000A5B 00000000     0        0 0 3 0000000000000000
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:2382 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4180001 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:C350 00000000000000000000000001000000:2382 01 00000000:00000000 00:00000000 00000000     0        0 4180002 1 0000000000000000 20 4 30 10 -1
`;

describe("parseListeningPorts", () => {
  it("takes the local ports of LISTEN sockets only (not established, not TIME_WAIT), IPv4 and IPv6", () => {
    assert.deepEqual(
      [...parseListeningPorts(TCP)].sort((a, b) => a - b),
      [22, 8080],
    );
    assert.deepEqual([...parseListeningPorts(TCP6)], [9090]);
  });
  it("skips the header, blank and malformed lines", () => {
    assert.deepEqual([...parseListeningPorts("")], []);
    assert.deepEqual(
      [...parseListeningPorts("header\n\n  0: nonsense 0A\n  1: 0100007F:XYZ 00000000:0000 0A\n")],
      [],
    );
  });
});

describe("listeningPorts", () => {
  it("sees a socket this process listens on in /proc/self, and not once it is closed", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      assert.ok((await listeningPorts("/proc/self")).has(port));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    assert.ok(!(await listeningPorts("/proc/self")).has(port));
  });
  it("reads a missing table as empty", async () => {
    assert.deepEqual([...(await listeningPorts("/nonexistent"))], []);
  });
});

describe("procDirOf", () => {
  it("reads the agent's own network, the host's, and none given by path", () => {
    assert.equal(procDirOf({ kind: "agent" }), "/proc/self");
    assert.equal(procDirOf({ kind: "host" }), "/proc/1");
    assert.equal(procDirOf({ kind: "path", path: "/run/netns/x" }), undefined);
  });
});

describe("portInUseError", () => {
  it("names the first declared port in use, by its index", () => {
    const err = portInUseError([9000, 8080, 22], new Set([22, 8080]), "node-a");
    assert.equal(err?.code, ErrorCode.FailedPrecondition);
    assert.equal(err?.field, "sandbox.exposedPorts[1]");
    assert.match(
      err?.rawMessage ?? "",
      /^port 8080 is already in use on node node-a by a process that did not declare it; sandboxes share the node's network/,
    );
  });
  it("is nothing when every declared port is free", () => {
    assert.equal(portInUseError([9000], new Set([22]), "node-a"), undefined);
    assert.equal(portInUseError([], new Set([22]), "node-a"), undefined);
  });
});

describe("gvisorPortsError", () => {
  it("refuses exposed ports of gVisor sandboxes with loopback only", () => {
    for (const mode of ["none", "agent"] as const) {
      const err = gvisorPortsError("gvisor", mode, [8080]);
      assert.equal(err?.code, ErrorCode.FailedPrecondition, mode);
      assert.equal(err?.field, "sandbox.exposedPorts", mode);
      assert.match(err?.message ?? "", new RegExp(`network mode ${mode}`));
    }
  });

  it("lets an isolated gVisor sandbox expose ports, reached at its own address", () => {
    assert.equal(gvisorPortsError("gvisor", "isolated", [8080]), undefined);
  });

  it("has nothing to say without exposed ports or under runc", () => {
    assert.equal(gvisorPortsError("gvisor", "none", []), undefined);
    assert.equal(gvisorPortsError("container", "none", [8080]), undefined);
  });
});

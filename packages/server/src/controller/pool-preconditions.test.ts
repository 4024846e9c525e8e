// A create's pool must exist in its namespace (an object, or agents registered in it), and a gVisor
// pool takes no exposed ports: both FAILED_PRECONDITION with the field named, before any placement.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { checkPoolOf, missingPoolError, unreachablePortsError } from "./pool-preconditions.ts";
import { TestWorld } from "./test-world.ts";

describe("missingPoolError", () => {
  const cases: Array<{ name: string; args: Parameters<typeof missingPoolError>; message: string }> = [
    {
      name: "nowhere",
      args: ["team-a", "gpu", false, []],
      message: 'pool "gpu" does not exist in namespace "team-a"',
    },
    {
      name: "the default pool, poolRef empty",
      args: ["team-a", "default-pool", true, []],
      message: 'pool "default-pool" (the default, as poolRef is empty) does not exist in namespace "team-a"',
    },
    {
      name: "in one other namespace",
      args: ["team-a", "gpu", false, ["team-b"]],
      message:
        'pool "gpu" does not exist in namespace "team-a"; a pool of that name exists in namespace "team-b", ' +
        "but pools serve only sandboxes of their own namespace",
    },
    {
      name: "in two others",
      args: ["team-a", "gpu", false, ["team-b", "team-c"]],
      message:
        'pool "gpu" does not exist in namespace "team-a"; a pool of that name exists in namespaces "team-b", ' +
        '"team-c", but pools serve only sandboxes of their own namespace',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const err = missingPoolError(...c.args);
      assert.equal(err.code, ErrorCode.FailedPrecondition);
      assert.equal(err.field, "poolRef");
      assert.equal(err.rawMessage, c.message);
    });
  }
});

describe("unreachablePortsError", () => {
  const gvisor = {
    spec: {
      capacity: { poolMin: 1, poolMax: 1, bufferMin: 0, bufferMax: 0 },
      runtimeType: "gvisor" as const,
    },
  };
  const container = { spec: { ...gvisor.spec, runtimeType: "container" as const } };
  it("refuses exposed ports on a gVisor pool outside mode isolated, naming exposedPorts", () => {
    const err = unreachablePortsError("g", gvisor, [8080], "agent");
    assert.equal(err?.code, ErrorCode.FailedPrecondition);
    assert.equal(err?.field, "exposedPorts");
    assert.match(
      err?.rawMessage ?? "",
      /^pool "g" runs gVisor sandboxes, which in network mode agent have loopback only/,
    );
    assert.equal(
      unreachablePortsError("g", gvisor, [8080]),
      undefined,
      "isolated, the default, reaches them",
    );
  });
  it("takes a gVisor sandbox without ports, and ports on a container pool or one without an object", () => {
    assert.equal(unreachablePortsError("g", gvisor, []), undefined);
    assert.equal(unreachablePortsError("c", container, [8080]), undefined);
    assert.equal(unreachablePortsError("x", undefined, [8080]), undefined);
  });
});

describe("checkPoolOf", () => {
  let world: TestWorld;
  beforeEach(async () => {
    world = await TestWorld.open();
  });
  afterEach(() => world.close());

  const refusal = (field: string, message: RegExp) => (err: unknown) =>
    err instanceof FsbError &&
    err.code === ErrorCode.FailedPrecondition &&
    err.field === field &&
    message.test(err.message);

  it("a pool with an object exists, even without agents", async () => {
    await world.applyPool("small", { capacity: { poolMin: 0, poolMax: 1, bufferMin: 0, bufferMax: 0 } });
    await checkPoolOf(world.poolCatalog, "default", { image: "busybox", poolRef: "small" });
  });

  it("a pool that only self-registered agents make up exists", async () => {
    await world.addAgent("a1", { pool: "external" });
    await checkPoolOf(world.poolCatalog, "default", { image: "busybox", poolRef: "external" });
  });

  it("a missing pool is refused on poolRef, naming the namespaces that have one (objects and agents)", async () => {
    await world.applyPool("gpu", {}, "team-b");
    await world.addAgent("a1", { pool: "gpu", namespace: "team-c" });
    await assert.rejects(
      checkPoolOf(world.poolCatalog, "team-a", { image: "busybox", poolRef: "gpu" }),
      refusal(
        "poolRef",
        /^poolRef: pool "gpu" does not exist in namespace "team-a"; .* namespaces "team-b", "team-c"/,
      ),
    );
    await assert.rejects(
      checkPoolOf(world.poolCatalog, "team-a", { image: "busybox" }),
      refusal(
        "poolRef",
        /"default-pool" \(the default, as poolRef is empty\) does not exist in namespace "team-a"$/,
      ),
    );
  });

  it("a gVisor pool refuses exposed ports outside network mode isolated", async () => {
    await world.applyPool("g", {
      runtimeType: "gvisor",
      network: { mode: "none", allowSandboxOverride: true },
    });
    await checkPoolOf(world.poolCatalog, "default", { image: "busybox", poolRef: "g" });
    await assert.rejects(
      checkPoolOf(world.poolCatalog, "default", { image: "busybox", poolRef: "g", exposedPorts: [8080] }),
      refusal("exposedPorts", /gVisor sandboxes, which in network mode none have loopback only/),
    );
    const isolated = { image: "busybox", poolRef: "g", exposedPorts: [8080] };
    await checkPoolOf(world.poolCatalog, "default", { ...isolated, network: { mode: "isolated" as const } });
    await world.applyPool("gi", { runtimeType: "gvisor" });
    await checkPoolOf(world.poolCatalog, "default", { ...isolated, poolRef: "gi" });
  });

  it("a sandbox sets its own network only where its pool allows it", async () => {
    const network = { mode: "none" as const };
    await world.applyPool("strict", { network: { mode: "isolated" } });
    await world.applyPool("open", { network: { allowSandboxOverride: true } });
    await checkPoolOf(world.poolCatalog, "default", { image: "busybox", poolRef: "strict" });
    await assert.rejects(
      checkPoolOf(world.poolCatalog, "default", { image: "busybox", poolRef: "strict", network }),
      refusal("network", /does not let sandboxes choose their network/),
    );
    await assert.rejects(
      checkPoolOf(world.poolCatalog, "default", {
        image: "busybox",
        poolRef: "strict",
        network: { egress: { default: "allow", allow: [], deny: ["198.51.100.0/24"] } },
      }),
      refusal("network", /allowSandboxOverride/),
    );
    await checkPoolOf(world.poolCatalog, "default", { image: "busybox", poolRef: "open", network });
  });
});

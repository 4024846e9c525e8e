// The Fast-Path API end to end: a real controller, its local agents and the test containerd.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { ConsistencyMode, WatchEvent_Type } from "../../packages/api/gen/fastsandbox/v1/fastpath_pb.ts";
import { TEST_IMAGE } from "../harness/constants.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";
import { eventually, leftoversOf, nothingLeft } from "../harness/leftovers.ts";
import { rejectsWith } from "../harness/rpc-assert.ts";

const typeName = Object.fromEntries(Object.entries(WatchEvent_Type).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;

describe("Fast-Path API", () => {
  let ctl: ControllerProcess;
  const conn = testConnection();

  before(async () => {
    ctl = await startControllerProcess({ socketPath: (await conn).socketPath, localAgents: 2, capacity: 3 });
  });
  after(async () => {
    await ctl.cleanup();
    (await conn).close();
  });

  it("creates in fast mode, then get, list and delete; the container goes and the slot frees", async () => {
    const created = await ctl.client.createSandbox({
      name: "fast-1",
      image: "busybox",
      command: ["sleep", "600"],
    });
    assert.equal(created.created, true);
    const info = created.sandbox!;
    assert.equal(info.phase, "Running");
    assert.equal(info.consistencyMode, ConsistencyMode.FAST);
    assert.match(info.sandboxId, /^fast-1-[0-9a-f]{8}$/);
    assert.ok(info.agent.startsWith(ctl.agentPrefix));
    assert.equal(info.image, TEST_IMAGE);

    const got = await eventually(
      () => ctl.client.getSandbox({ name: "fast-1" }),
      (s) => s.uid !== "",
    );
    assert.equal(got.sandboxId, info.sandboxId);
    const listed = await ctl.client.listSandboxes({});
    assert.deepEqual(
      listed.sandboxes.map((s) => s.name),
      ["fast-1"],
    );

    await ctl.client.deleteSandbox({ name: "fast-1", gracePeriodSeconds: 0 });
    await eventually(
      () =>
        ctl.client.getSandbox({ name: "fast-1" }).then(
          () => "present",
          () => "gone",
        ),
      (v) => v === "gone",
    );
    assert.deepEqual(await leftoversOf(await conn, info.sandboxId), nothingLeft);
    const metrics = await (await fetch(`http://127.0.0.1:${ctl.ports.metrics}/metrics`)).text();
    assert.match(metrics, /fsb_registry_slots\{state="used"\} 0/);
  });

  it("creates in strong mode over gRPC: the object exists (with its uid) before the answer", async () => {
    const created = await ctl.grpc.createSandbox({
      name: "strong-1",
      image: "busybox",
      command: ["sleep", "600"],
      consistencyMode: ConsistencyMode.STRONG,
      labels: { team: "a" },
    });
    const info = created.sandbox!;
    assert.equal(info.phase, "Running");
    assert.notEqual(info.uid, "");
    assert.equal(info.consistencyMode, ConsistencyMode.STRONG);
    const conditions = Object.fromEntries(info.conditions.map((c) => [c.type, c.status]));
    assert.deepEqual(conditions, { Scheduled: "True", Ready: "True" });
    const byLabel = await ctl.client.listSandboxes({ labelSelector: "team=a" });
    assert.deepEqual(
      byLabel.sandboxes.map((s) => s.name),
      ["strong-1"],
    );
    assert.equal((await ctl.client.listSandboxes({ labelSelector: "team=b" })).sandboxes.length, 0);
    await ctl.client.deleteSandbox({ name: "strong-1", gracePeriodSeconds: 0 });
  });

  it("is idempotent on the name, and a different spec is ALREADY_EXISTS", async () => {
    const request = { name: "idem", image: "busybox", command: ["sleep", "600"], exposedPorts: [18500] };
    const first = await ctl.client.createSandbox(request);
    const again = await ctl.client.createSandbox({ ...request, image: "docker.io/library/busybox:latest" });
    assert.equal(again.created, false);
    assert.equal(again.sandbox?.sandboxId, first.sandbox?.sandboxId);
    await rejectsWith(
      ctl.client.createSandbox({ ...request, command: ["sleep", "601"] }),
      Code.AlreadyExists,
      /different spec/,
    );
    await ctl.client.deleteSandbox({ name: "idem", gracePeriodSeconds: 0 });
  });

  it("watches a namespace: the current list, SYNCED, then changes", async () => {
    await ctl.client
      .createSandbox({
        name: "watched-a",
        namespace: "watch",
        image: "busybox",
        command: ["sleep", "600"],
        poolRef: "default-pool",
      })
      .catch((e) => e);
    const abort = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      try {
        for await (const event of ctl.client.watchSandboxes(
          { namespace: "default" },
          { signal: abort.signal },
        )) {
          seen.push(`${typeName[event.type]}:${event.sandbox?.name ?? ""}:${event.sandbox?.phase ?? ""}`);
          if (seen.some((s) => s.startsWith("DELETED:w1"))) return;
        }
      } catch (err) {
        if (!abort.signal.aborted) throw err;
      }
    })();
    await eventually(() => seen.includes("SYNCED::"), Boolean);
    // Whatever exists comes first, as ADDED, then the marker.
    const synced = seen.indexOf("SYNCED::");
    assert.ok(synced >= 0, seen.join(" "));
    assert.ok(
      seen.slice(0, synced).every((s) => s.startsWith("ADDED:")),
      seen.join(" "),
    );
    await ctl.client.createSandbox({
      name: "w1",
      image: "busybox",
      command: ["sleep", "600"],
      consistencyMode: ConsistencyMode.STRONG,
    });
    await ctl.client.deleteSandbox({ name: "w1", gracePeriodSeconds: 0 });
    const timer = setTimeout(() => abort.abort(), 20_000);
    await watching;
    clearTimeout(timer);
    abort.abort();
    assert.ok(seen.includes("ADDED:w1:Pending"), seen.join(" "));
    assert.ok(
      seen.some((s) => s.startsWith("MODIFIED:w1:Running")),
      seen.join(" "),
    );
    assert.ok(
      seen.some((s) => s.startsWith("MODIFIED:w1:Terminating")),
      seen.join(" "),
    );
    assert.ok(
      seen.some((s) => s.startsWith("DELETED:w1")),
      seen.join(" "),
    );
  });

  it("streams logs through the controller, following until the process exits", async () => {
    await ctl.client.createSandbox({
      name: "talker",
      image: "busybox",
      command: ["sh", "-c", "echo one; sleep 0.5; echo two; sleep 0.3; echo three"],
    });
    let text = "";
    for await (const chunk of ctl.client.getSandboxLogs({ name: "talker", follow: true })) {
      text += Buffer.from(chunk.data).toString();
    }
    assert.equal(text, "one\ntwo\nthree\n");
    let tail = "";
    for await (const chunk of ctl.client.getSandboxLogs({ name: "talker", tailLines: 1 }))
      tail += Buffer.from(chunk.data).toString();
    assert.equal(tail, "three\n");
    await ctl.client.deleteSandbox({ name: "talker", gracePeriodSeconds: 0 });
  });

  const bad: Array<{ name: string; request: Record<string, unknown>; field: RegExp }> = [
    { name: "an invalid name", request: { name: "Bad_Name", image: "busybox" }, field: /^name: / },
    { name: "no image", request: { name: "x1" }, field: /^image: / },
    { name: "a bad image", request: { name: "x2", image: "Not An Image" }, field: /^image: / },
    {
      name: "port 0",
      request: { name: "x3", image: "busybox", exposedPorts: [0] },
      field: /^exposedPorts\[0\]: /,
    },
    {
      name: "a duplicate port",
      request: { name: "x4", image: "busybox", exposedPorts: [80, 80] },
      field: /^exposedPorts\[1\]: /,
    },
    {
      name: "a bad env name",
      request: { name: "x5", image: "busybox", env: [{ name: "1A", value: "" }] },
      field: /^env\[0\]\.name: /,
    },
    {
      name: "a relative workingDir",
      request: { name: "x6", image: "busybox", workingDir: "tmp" },
      field: /^workingDir: /,
    },
    {
      name: "a bad namespace",
      request: { name: "x7", namespace: "Bad", image: "busybox" },
      field: /^namespace: /,
    },
    {
      name: "a reserved label",
      request: { name: "x8", image: "busybox", labels: { "sandbox.fast.io/x": "y" } },
      field: /^labels\[/,
    },
    {
      name: "bad memory",
      request: { name: "x9", image: "busybox", resources: { memory: "1Mi" } },
      field: /^resources\.memory: /,
    },
  ];
  for (const tc of bad) {
    it(`answers INVALID_ARGUMENT naming the field for ${tc.name}`, async () => {
      await rejectsWith(ctl.client.createSandbox(tc.request), Code.InvalidArgument, tc.field);
    });
  }

  it("answers UNAUTHENTICATED to a wrong or missing token, NOT_FOUND to an unknown name", async () => {
    await rejectsWith(ctl.clientWithToken("wrong").listSandboxes({}), Code.Unauthenticated);
    await rejectsWith(ctl.clientWithToken(undefined).listSandboxes({}), Code.Unauthenticated);
    await rejectsWith(ctl.client.getSandbox({ name: "nobody" }), Code.NotFound, /default\/nobody not found/);
    await rejectsWith(ctl.client.deleteSandbox({ name: "nobody" }), Code.NotFound);
  });

  it("a command that is not in the image fails a strong create with INVALID_ARGUMENT and leaves nothing", async () => {
    await rejectsWith(
      ctl.client.createSandbox({
        name: "nocmd",
        image: "busybox",
        command: ["/no/such"],
        consistencyMode: ConsistencyMode.STRONG,
      }),
      Code.InvalidArgument,
      /not found in the image/,
    );
    await eventually(
      () =>
        ctl.client.getSandbox({ name: "nocmd" }).then(
          () => "present",
          () => "gone",
        ),
      (v) => v === "gone",
    );
    await rejectsWith(
      ctl.client.createSandbox({ name: "nocmd2", image: "busybox", command: ["/no/such"] }),
      Code.InvalidArgument,
      /not found in the image/,
    );
  });
});

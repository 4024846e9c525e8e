// The events.k8s.io writer against a fake EventsV1Api: the bodies it sends, its order, and that failures
// and a slow server never reach the caller.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Sandbox } from "@fast-sandbox/api";
import { ApiException, type EventsV1Event } from "@kubernetes/client-node";
import { pino } from "pino";
import { sandboxFixture } from "../controller/sandbox/sandbox-fixture.ts";
import {
  type EventsWriter,
  KubeEventRecorder,
  microTime,
  REPORTING_CONTROLLER,
} from "./kube-event-recorder.ts";

const T0 = Date.parse("2026-11-22T12:00:00.123Z");

/** Records every call; `fail` decides what a call throws, `gate` holds calls until it resolves. */
class FakeEvents implements EventsWriter {
  readonly calls: Array<{ verb: "create" | "patch"; namespace: string; name: string; body: unknown }> = [];
  fail: (verb: "create" | "patch") => unknown = () => undefined;
  gate: Promise<void> = Promise.resolve();

  async createNamespacedEvent(p: { namespace: string; body: EventsV1Event }): Promise<unknown> {
    await this.gate;
    this.calls.push({
      verb: "create",
      namespace: p.namespace,
      name: p.body.metadata?.name ?? "",
      body: p.body,
    });
    const err = this.fail("create");
    if (err) throw err;
    return p.body;
  }

  async patchNamespacedEvent(p: { name: string; namespace: string; body: unknown }): Promise<unknown> {
    await this.gate;
    this.calls.push({ verb: "patch", namespace: p.namespace, name: p.name, body: p.body });
    const err = this.fail("patch");
    if (err) throw err;
    return {};
  }
}

const notFound = () =>
  new ApiException(404, "not found", { kind: "Status", code: 404, reason: "NotFound" }, {});
const subject: Sandbox = sandboxFixture({
  metadata: { name: "web", namespace: "team-a", uid: "uid-1", resourceVersion: "42" },
});

function recorder(api: FakeEvents, now: () => number = () => T0, queueCap?: number) {
  return new KubeEventRecorder({
    api,
    reportingInstance: "fsb-controller-0_1234",
    logger: pino({ level: "silent" }),
    now,
    ...(queueCap === undefined ? {} : { queueCap }),
  });
}

describe("KubeEventRecorder", () => {
  it("creates an events.k8s.io/v1 Event regarding the object, with MicroTime and the reporter", async () => {
    const api = new FakeEvents();
    const r = recorder(api);
    r.normal(subject, "Scheduled", "Schedule", "Placed on agent a1");
    await r.flush();
    assert.equal(api.calls.length, 1);
    const call = api.calls[0]!;
    assert.equal(call.verb, "create");
    assert.equal(call.namespace, "team-a");
    const body = JSON.parse(JSON.stringify(call.body));
    assert.deepEqual(body, {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: `web.${(BigInt(T0) * 1_000_000n).toString(16)}`, namespace: "team-a" },
      eventTime: "2026-11-22T12:00:00.123000Z",
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: "fsb-controller-0_1234",
      action: "Schedule",
      reason: "Scheduled",
      note: "Placed on agent a1",
      type: "Normal",
      regarding: {
        apiVersion: "sandbox.fast.io/v1alpha1",
        kind: "Sandbox",
        namespace: "team-a",
        name: "web",
        uid: "uid-1",
        resourceVersion: "42",
      },
    });
  });

  it("patches only the series of a repeated event, as a JSON patch, after its create", async () => {
    const api = new FakeEvents();
    let now = T0;
    const r = recorder(api, () => now);
    r.warning(subject, "FailedScheduling", "Schedule", "NoCapacity: full");
    now += 2000;
    r.warning(subject, "FailedScheduling", "Schedule", "NoCapacity: full");
    await r.flush();
    assert.deepEqual(
      api.calls.map((c) => c.verb),
      ["create", "patch"],
    );
    assert.equal(api.calls[1]?.name, api.calls[0]?.name);
    assert.deepEqual(api.calls[1]?.body, [
      { op: "add", path: "/series", value: { count: 2, lastObservedTime: "2026-11-22T12:00:02.123000Z" } },
    ]);
  });

  it("creates the Event whole, with its series, when the one to patch is gone", async () => {
    const api = new FakeEvents();
    api.fail = (verb) => (verb === "patch" ? notFound() : undefined);
    const r = recorder(api);
    r.warning(subject, "Lost", "Observe", "Agent a1 stopped answering");
    r.warning(subject, "Lost", "Observe", "Agent a1 stopped answering");
    await r.flush();
    assert.deepEqual(
      api.calls.map((c) => c.verb),
      ["create", "patch", "create"],
    );
    const recreated = JSON.parse(JSON.stringify(api.calls[2]?.body));
    assert.deepEqual(recreated.series, { count: 2, lastObservedTime: "2026-11-22T12:00:00.123000Z" });
    assert.equal(r.stats.written, 2);
  });

  it("logs a failed write and counts it; the caller never sees it", async () => {
    const api = new FakeEvents();
    api.fail = () => new ApiException(403, "forbidden", { code: 403, reason: "Forbidden" }, {});
    const r = recorder(api);
    assert.doesNotThrow(() => r.normal(subject, "Started", "Start", "Started on agent a1"));
    await r.flush();
    assert.equal(r.stats.failed, 1);
    assert.equal(r.stats.written, 0);
  });

  it("never waits for the API server: a full queue drops events and counts them", async () => {
    const api = new FakeEvents();
    let open = () => {};
    api.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const r = recorder(api, () => T0, 3);
    const started = performance.now();
    // Different reasons: each is a write of its own (the first is taken off the queue at once).
    for (let i = 0; i < 10; i++) r.normal(subject, `Reason${i}`, "Observe", `note ${i}`);
    assert.ok(performance.now() - started < 50, "recording returned at once");
    assert.equal(r.stats.dropped, 6);
    open();
    await r.flush();
    assert.equal(api.calls.length, 4);
    assert.equal(r.stats.written, 4);
  });

  it("formats MicroTime with six fractional digits", () => {
    assert.equal(microTime(Date.parse("2026-01-02T03:04:05.006Z")), "2026-01-02T03:04:05.006000Z");
  });
});

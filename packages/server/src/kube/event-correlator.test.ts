// The event correlator on a hand-moved clock: series, aggregation, the per-object spam filter, names and notes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  COMBINED_PREFIX,
  type Correlation,
  EventCorrelator,
  type EventRegarding,
  NOTE_MAX_BYTES,
  type RecordedEvent,
  SERIES_FINISH_MS,
  truncateNote,
} from "./event-correlator.ts";
import { SPAM_BURST, SPAM_REFILL_MS } from "./event-spam-filter.ts";

const T0 = Date.parse("2026-11-22T12:00:00Z");
const sandbox = (name = "s", uid = "u1"): EventRegarding => ({
  apiVersion: "sandbox.fast.io/v1alpha1",
  kind: "Sandbox",
  namespace: "default",
  name,
  uid,
  resourceVersion: "7",
});
const event = (over: Partial<RecordedEvent> = {}): RecordedEvent => ({
  regarding: sandbox(),
  type: "Warning",
  reason: "FailedScheduling",
  action: "Schedule",
  note: "NoCapacity: no agent has a free slot",
  ...over,
});
/** The kind of each outcome, with the series count of writes. */
const shape = (c: Correlation): string =>
  c.kind === "create" || c.kind === "patch" ? `${c.kind}:${c.series?.count ?? 1}` : c.kind;

describe("EventCorrelator", () => {
  it("writes a new event once, then folds repeats into its series, patched at counts 2, 4, 8", () => {
    const c = new EventCorrelator();
    const outcomes = Array.from({ length: 9 }, (_, i) => shape(c.observe(event(), T0 + i * 1000)));
    assert.deepEqual(outcomes, [
      "create:1",
      "patch:2",
      "folded",
      "patch:4",
      "folded",
      "folded",
      "folded",
      "patch:8",
      "folded",
    ]);
  });

  it("keeps one Event per series: its name, eventTime and note stay, lastObservedTime moves", () => {
    const c = new EventCorrelator();
    const first = c.observe(event(), T0);
    const second = c.observe(event(), T0 + 5000);
    assert.equal(first.kind, "create");
    assert.equal(second.kind, "patch");
    if (first.kind !== "create" || second.kind !== "patch") return;
    assert.equal(second.name, first.name);
    assert.equal(second.eventTime, T0);
    assert.deepEqual(second.series, { count: 2, lastObservedTime: T0 + 5000 });
    assert.match(first.name, /^s\.[0-9a-f]+$/);
    assert.equal(first.namespace, "default");
  });

  it("counts a different note, reason, type, action or object as a different event", () => {
    const c = new EventCorrelator();
    const variants: RecordedEvent[] = [
      event(),
      event({ note: "ImageNotCached: no agent has the image" }),
      event({ reason: "Scheduled" }),
      event({ type: "Normal" }),
      event({ action: "Start" }),
      event({ regarding: sandbox("t") }),
      event({ regarding: sandbox("s", "u2") }),
    ];
    for (const [i, v] of variants.entries())
      assert.equal(shape(c.observe(v, T0 + i)), "create:1", `variant ${i}`);
  });

  it("does not split a series on a new resourceVersion of the same object", () => {
    const c = new EventCorrelator();
    c.observe(event(), T0);
    const again = c.observe(event({ regarding: { ...sandbox(), resourceVersion: "8" } }), T0 + 1);
    assert.equal(shape(again), "patch:2");
  });

  it("finishes a series not seen for the finish time: the next one is a new Event", () => {
    const c = new EventCorrelator();
    const first = c.observe(event(), T0);
    c.observe(event(), T0 + 1000);
    const later = c.observe(event(), T0 + 1000 + SERIES_FINISH_MS + 1);
    assert.equal(shape(later), "create:1");
    assert.ok(first.kind === "create" && later.kind === "create" && later.name !== first.name);
  });

  it("names two events of one object in the same millisecond apart", () => {
    const c = new EventCorrelator();
    const a = c.observe(event({ reason: "A" }), T0);
    const b = c.observe(event({ reason: "B" }), T0);
    assert.ok(a.kind === "create" && b.kind === "create");
    assert.notEqual(a.name, b.name);
    assert.equal(a.name, `s.${(BigInt(T0) * 1_000_000n).toString(16)}`);
  });

  it("combines the 10th different note of one reason within 10 minutes, and folds later ones into it", () => {
    const c = new EventCorrelator();
    const notes = Array.from({ length: 12 }, (_, i) => `NoCapacity: attempt ${i}`);
    const outcomes = notes.map((note, i) => c.observe(event({ note }), T0 + i * 1000));
    assert.deepEqual(outcomes.slice(0, 9).map(shape), Array(9).fill("create:1"));
    const combined = outcomes[9];
    assert.ok(combined?.kind === "create");
    assert.equal(combined.event.note, `${COMBINED_PREFIX}NoCapacity: attempt 9`);
    assert.deepEqual(outcomes.slice(10).map(shape), ["patch:2", "folded"]);
    const tenth = outcomes[10];
    assert.ok(tenth?.kind === "patch" && tenth.name === combined.name);
  });

  it("starts aggregating afresh after 10 quiet minutes", () => {
    const c = new EventCorrelator();
    for (let i = 0; i < 10; i++) c.observe(event({ note: `n${i}` }), T0 + i);
    const fresh = c.observe(event({ note: "n-new" }), T0 + 10 * 60_000 + 100);
    assert.ok(fresh.kind === "create");
    assert.equal(fresh.event.note, "n-new");
  });

  it("lets 25 events of one object through at once, then one per 5 minutes; other objects are not held", () => {
    const c = new EventCorrelator();
    const reasons = Array.from({ length: SPAM_BURST + 1 }, (_, i) => `Reason${i}`);
    const outcomes = reasons.map((reason) => c.observe(event({ reason, note: reason }), T0).kind);
    assert.deepEqual(outcomes.slice(0, SPAM_BURST), Array(SPAM_BURST).fill("create"));
    assert.equal(outcomes[SPAM_BURST], "throttled");
    assert.equal(c.observe(event({ regarding: sandbox("other"), reason: "X" }), T0).kind, "create");
    assert.equal(c.observe(event({ reason: "Y", note: "y" }), T0 + SPAM_REFILL_MS - 1).kind, "throttled");
    assert.equal(c.observe(event({ reason: "Z", note: "z" }), T0 + SPAM_REFILL_MS).kind, "create");
    assert.equal(c.observe(event({ reason: "W", note: "w" }), T0 + SPAM_REFILL_MS).kind, "throttled");
  });

  it("writes a throttled event later as a create that carries the repeats it missed", () => {
    const c = new EventCorrelator({ burst: 1, refillMs: 60_000 });
    assert.equal(c.observe(event({ reason: "Other" }), T0).kind, "create");
    assert.equal(c.observe(event(), T0 + 1).kind, "throttled");
    assert.equal(c.observe(event(), T0 + 2).kind, "throttled");
    assert.equal(shape(c.observe(event(), T0 + 60_000)), "create:3");
  });
});

describe("truncateNote", () => {
  it("leaves a note of 1 KiB alone and cuts a longer one on a character boundary, marked", () => {
    assert.equal(truncateNote("x".repeat(NOTE_MAX_BYTES)), "x".repeat(NOTE_MAX_BYTES));
    const cut = truncateNote("é".repeat(NOTE_MAX_BYTES));
    assert.ok(Buffer.byteLength(cut) <= NOTE_MAX_BYTES, `${Buffer.byteLength(cut)} bytes`);
    assert.ok(cut.endsWith("é ..."));
    const emoji = truncateNote("😀".repeat(400));
    assert.ok(Buffer.byteLength(emoji) <= NOTE_MAX_BYTES);
    assert.ok(!/[\ud800-\udbff] \.\.\.$/.test(emoji), "no half surrogate pair");
  });
});

// pino's JSON lines as text for a terminal: time, level, component, message, fields, stack.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatLogLine } from "./log-format.ts";

const AT = Date.parse("2026-12-03T09:40:11.319Z");
const plain = { colour: false, utcOffsetMinutes: 0 };
const line = (record: Record<string, unknown>) =>
  JSON.stringify({ level: 30, time: AT, pid: 899, hostname: "vm", name: "fsb-standalone", ...record });

describe("formatLogLine", () => {
  const cases: Array<{ name: string; record: Record<string, unknown>; want: string }> = [
    {
      name: "time, level, component, message, then the other fields; pid and hostname left out",
      record: { component: "controller", pool: "default/default-pool", desired: 1, msg: "scaled" },
      want: "09:40:11.319 INFO  controller scaled pool=default/default-pool desired=1\n",
    },
    {
      name: "the logger's name when there is no component",
      record: { name: "fsb-agent", agentId: "default-pool-0", msg: "containerd reachable" },
      want: "09:40:11.319 INFO  fsb-agent containerd reachable agentId=default-pool-0\n",
    },
    {
      name: "text with spaces quoted; objects and lists as compact JSON",
      record: { level: 40, msg: "slow", reason: "took long", capacity: { poolMin: 1 }, drain: [] },
      want: '09:40:11.319 WARN  fsb-standalone slow reason="took long" capacity={"poolMin":1} drain=[]\n',
    },
    {
      name: "an error's stack below the line, indented",
      record: {
        level: 50,
        msg: "stop failed",
        err: { type: "Error", message: "boom", stack: "Error: boom\n    at stop (x.ts:1:1)" },
      },
      want: "09:40:11.319 ERROR fsb-standalone stop failed\n    Error: boom\n    at stop (x.ts:1:1)\n",
    },
    {
      name: "an error without a stack as a field",
      record: { level: 60, msg: "failed to start", err: { message: "no socket" } },
      want: '09:40:11.319 FATAL fsb-standalone failed to start err="no socket"\n',
    },
    {
      name: "debug and trace levels",
      record: { level: 20, msg: "probe" },
      want: "09:40:11.319 DEBUG fsb-standalone probe\n",
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => assert.equal(formatLogLine(line(tc.record), plain), tc.want));
  }

  it("colours the level by severity, and dims the time and field names", () => {
    const text = formatLogLine(line({ level: 50, msg: "x", a: 1 }), { colour: true, utcOffsetMinutes: 0 });
    assert.equal(
      text,
      "\x1b[2m09:40:11.319\x1b[0m \x1b[31mERROR\x1b[0m \x1b[36mfsb-standalone\x1b[0m x \x1b[2ma=\x1b[0m1\n",
    );
  });

  it("shows the time in the given zone", () => {
    assert.match(
      formatLogLine(line({ msg: "x" }), { colour: false, utcOffsetMinutes: 60 }),
      /^10:40:11\.319 /,
    );
  });

  it("passes a line that is not a JSON object as it is", () => {
    assert.equal(formatLogLine("plain words", plain), "plain words\n");
    assert.equal(formatLogLine("[1,2]\n", plain), "[1,2]\n");
  });
});

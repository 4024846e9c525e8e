import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventLine, outputEvent, replayLines } from "./exec-events.ts";

describe("exec stream framing", () => {
  it("puts one event on one line, newlines inside strings escaped", () => {
    const line = eventLine({ error: { code: "NOT_FOUND", message: "a\nb" } });
    assert.equal(line.indexOf("\n"), line.length - 1);
    assert.deepEqual(JSON.parse(line), { error: { code: "NOT_FOUND", message: "a\nb" } });
  });

  it("carries any bytes as base64 under their stream", () => {
    const bytes = Buffer.from([0, 255, 10, 13]);
    assert.deepEqual(outputEvent({ stream: "stderr", data: bytes }), { stderr: bytes.toString("base64") });
    assert.deepEqual(outputEvent({ stream: "stdout", data: bytes }), { stdout: "AP8KDQ==" });
  });

  it("replays a dropped count before the kept chunks, and none when nothing was dropped", () => {
    const chunks = [{ stream: "stdout" as const, data: Buffer.from("hi") }];
    assert.deepEqual(
      replayLines({ dropped: 3, chunks }).map((l) => JSON.parse(l)),
      [{ dropped: 3 }, { stdout: "aGk=" }],
    );
    assert.deepEqual(
      replayLines({ dropped: 0, chunks }).map((l) => JSON.parse(l)),
      [{ stdout: "aGk=" }],
    );
  });
});

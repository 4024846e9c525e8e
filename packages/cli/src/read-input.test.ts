// `-f -` reads stdin as a stream: data that arrives late, in pieces, is read whole.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { CliError } from "./cli-error.ts";
import { readInput } from "./read-input.ts";

describe("readInput", () => {
  it("waits for stdin to end and joins its chunks", async () => {
    const stdin = new PassThrough();
    setTimeout(() => stdin.write("kind: "), 20);
    setTimeout(() => stdin.end("SandboxPool\n"), 40);
    assert.deepEqual(await readInput("-", stdin), { source: "stdin", text: "kind: SandboxPool\n" });
  });

  it("names a file it cannot read, with the system's code", async () => {
    await assert.rejects(
      readInput("/nonexistent/pool.yaml", new PassThrough()),
      (err: unknown) =>
        err instanceof CliError && err.message === "cannot read /nonexistent/pool.yaml: ENOENT",
    );
  });
});

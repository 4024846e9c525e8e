// The harness prints the logs of the processes a failed test used, and nothing for a test that passed.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";

const fixture = path.join(import.meta.dirname, "fixtures/failure-logs-fixture.ts");

describe("failure logs", () => {
  it("prints a failed test's process output and log files once per failure, and nothing for a pass", async () => {
    const result = await promisify(execFile)(process.execPath, ["--test", "--test-reporter=spec", fixture], {
      env: { ...process.env, NODE_TEST_CONTEXT: undefined },
    }).catch((err: { code: number; stdout: string; stderr: string }) => err);
    assert.equal("code" in result ? result.code : 0, 1, "the fixture has failing tests");
    const out = `${result.stdout}${result.stderr}`;
    const headers = [
      ...out.matchAll(/===== logs of the processes used by the failed test "([^"]+)" =====/g),
    ].map((m) => m[1]);
    // The third test ends the process before failing: it still "used" it, so its logs print too.
    assert.deepEqual(headers, ["fails while the controller runs", "fails after the controller ended"]);
    assert.equal(out.match(/----- controller pid 1: output -----\ncontroller says: ready/g)?.length, 2);
    assert.equal(
      out.match(/----- controller pid 1: .*agent-0\.log -----\nagent-0 says: adopted 1 sandbox/g)?.length,
      2,
    );
    assert.doesNotMatch(out, /not a log file/);
  });
});

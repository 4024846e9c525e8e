import assert from "node:assert/strict";
import { test } from "node:test";
import { isDnsLabel } from "@fast-sandbox/api";
import { localAgentId } from "./local-agent-id.ts";

const def = { namespace: "default", name: "default-pool" };

test("local agent ids", () => {
  const cases: Array<[string | undefined, { namespace: string; name: string }, number, string]> = [
    [undefined, def, 0, "default-pool-0"],
    ["t1a2b3", def, 1, "t1a2b3-1"],
    [undefined, { namespace: "default", name: "gpu" }, 2, "gpu-2"],
    ["t1a2b3", { namespace: "default", name: "gpu" }, 0, "t1a2b3-gpu-0"],
    [undefined, { namespace: "team-a", name: "gpu" }, 0, "gpu-team-a-0"],
  ];
  for (const [prefix, pool, n, want] of cases) assert.equal(localAgentId(prefix, def, pool, n), want);
});

test("long names are cut, hashed apart, and stay DNS labels", () => {
  const a = localAgentId(undefined, def, { namespace: "x".repeat(40), name: "p".repeat(40) }, 12);
  const b = localAgentId(undefined, def, { namespace: "y".repeat(40), name: "p".repeat(40) }, 12);
  assert.ok(isDnsLabel(a), a);
  assert.ok(isDnsLabel(b), b);
  assert.notEqual(a, b);
  assert.ok(a.endsWith("-12"));
});

// findOrphans: only unowned, settled containers older than the timeout are orphans.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AgentSandboxView } from "./agent-api.ts";
import { findOrphans } from "./orphan-collector.ts";

const NOW = Date.parse("2026-11-22T12:00:00Z");
const view = (
  sandboxId: string,
  ageMs: number,
  phase: AgentSandboxView["phase"] = "Running",
): AgentSandboxView => ({
  sandboxId,
  containerId: sandboxId,
  name: sandboxId,
  namespace: "default",
  uid: "",
  pool: "default-pool",
  image: "i",
  phase,
  taskState: "running",
  pid: 1,
  exitCode: null,
  exitedAt: null,
  exitReason: null,
  createdAt: new Date(NOW - ageMs).toISOString(),
  endpoints: [],
});

describe("findOrphans", () => {
  const cases: Array<{
    name: string;
    s: AgentSandboxView;
    owned?: string[];
    pending?: string[];
    orphan: boolean;
  }> = [
    { name: "owned by an object", s: view("a", 60_000), owned: ["a"], orphan: false },
    { name: "a fast create still being recorded", s: view("a", 60_000), pending: ["a"], orphan: false },
    { name: "unowned but young", s: view("a", 5_000), orphan: false },
    { name: "unowned and old", s: view("a", 10_000), orphan: true },
    { name: "unowned, old and exited", s: view("a", 60_000, "Exited"), orphan: true },
    { name: "already being deleted", s: view("a", 60_000, "Deleting"), orphan: false },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const found = findOrphans([tc.s], new Set(tc.owned), new Set(tc.pending), NOW, 10_000);
      assert.equal(found.length === 1, tc.orphan);
    });
  }
});

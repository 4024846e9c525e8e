// The lifecycle diagram in docs/architecture.md says what transitions.ts does: the same edges, no more, no fewer.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { PHASE_TRANSITIONS } from "./transitions.ts";

const DOC = path.resolve(import.meta.dirname, "../../../../../docs/architecture.md");

/** Edges (`from --> to: name`) of the first mermaid stateDiagram in `markdown`. */
function diagramEdges(markdown: string): string[] {
  const block = /```mermaid\n(stateDiagram[^\n]*\n[\s\S]*?)```/.exec(markdown)?.[1];
  assert.ok(block, "docs/architecture.md has no mermaid stateDiagram");
  return block
    .split("\n")
    .map((line) => /^\s*(\[\*\]|\w+)\s*-->\s*(\[\*\]|\w+)\s*:\s*(\w+)\s*$/.exec(line))
    .filter((m) => m !== null)
    .map(([, from, to, name]) => `${from} --> ${to}: ${name}`);
}

describe("lifecycle diagram", () => {
  it("has exactly the edges of PHASE_TRANSITIONS", () => {
    const documented = diagramEdges(readFileSync(DOC, "utf8")).sort();
    const coded = PHASE_TRANSITIONS.flatMap((row) =>
      row.from.map((from) => `${from} --> ${row.to}: ${row.name}`),
    ).sort();
    assert.deepEqual(documented, coded);
  });
});

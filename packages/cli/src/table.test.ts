// Tables: padded columns, no trailing spaces, and colour that never skews the widths.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { columnWidths, formatRow, formatTable } from "./table.ts";

describe("formatTable", () => {
  it("pads each column to its widest cell, two spaces apart, without trailing spaces", () => {
    assert.equal(
      formatTable([
        ["NAME", "PHASE", "AGE"],
        ["a-long-name", "Running", "5s"],
        ["b", "Pending", ""],
      ]),
      "NAME         PHASE    AGE\na-long-name  Running  5s\nb            Pending\n",
    );
  });

  it("colours a cell after padding it", () => {
    const red = (t: string) => `<${t}>`;
    const widths = columnWidths([["PHASE", "X"]], [7]);
    assert.equal(formatRow([{ text: "Failed", colour: red }, "x"], widths), "<Failed>   x");
  });
});

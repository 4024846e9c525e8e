/** Plain-text tables: columns padded to their widest cell, two spaces apart, colour applied after padding. */

/** A cell is its text, and optionally how to colour it once padded (so ANSI codes never skew widths). */
export type Cell = string | { text: string; colour: (text: string) => string };

const GAP = "  ";

const textOf = (cell: Cell) => (typeof cell === "string" ? cell : cell.text);

/** Widths that fit the header and every row, never below `minimums`. */
export function columnWidths(rows: Cell[][], minimums: number[] = []): number[] {
  const widths = [...minimums];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, textOf(cell).length);
    });
  }
  return widths;
}

/** One line; the last column is not padded, so lines carry no trailing spaces. */
export function formatRow(row: Cell[], widths: number[]): string {
  const last = row.findLastIndex((cell) => textOf(cell) !== "");
  return row
    .slice(0, last + 1)
    .map((cell, i) => {
      const text = textOf(cell);
      const padded = i === last ? text : text.padEnd(widths[i] ?? 0);
      return typeof cell === "string" ? padded : cell.colour(text) + padded.slice(text.length);
    })
    .join(GAP);
}

export function formatTable(rows: Cell[][]): string {
  const widths = columnWidths(rows);
  return rows.map((row) => `${formatRow(row, widths)}\n`).join("");
}

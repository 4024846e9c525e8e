// tailOffset finds where the last N lines start, across chunk boundaries and without a final newline.
import assert from "node:assert/strict";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { tailOffset } from "./log-stream.ts";

describe("tailOffset", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fsb-tail-"));
  after(() => rm(dir, { recursive: true, force: true }));
  const tail = async (content: string, lines: number, chunk = 64) => {
    const file = path.join(dir, "log");
    await writeFile(file, content);
    const handle = await open(file, "r");
    try {
      return content.slice(await tailOffset(handle, Buffer.alloc(chunk), lines));
    } finally {
      await handle.close();
    }
  };
  const cases: Array<{ name: string; content: string; lines: number; chunk?: number; want: string }> = [
    { name: "last two of four", content: "a\nb\nc\nd\n", lines: 2, want: "c\nd\n" },
    { name: "more than there are", content: "a\nb\n", lines: 10, want: "a\nb\n" },
    { name: "zero lines", content: "a\nb\n", lines: 0, want: "" },
    { name: "no final newline", content: "a\nb\nc", lines: 2, want: "b\nc" },
    { name: "empty file", content: "", lines: 3, want: "" },
    {
      name: "across tiny chunks",
      content: "one\ntwo\nthree\nfour\n",
      lines: 3,
      chunk: 3,
      want: "two\nthree\nfour\n",
    },
  ];
  for (const tc of cases)
    it(tc.name, async () => assert.equal(await tail(tc.content, tc.lines, tc.chunk), tc.want));
});

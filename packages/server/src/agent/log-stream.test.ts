// tailOffset finds where the last N lines start, across chunk boundaries and without a final newline;
// streamLog without follow stops at the end the file had when it began, whatever is written meanwhile.
import assert from "node:assert/strict";
import { appendFile, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { after, describe, it } from "node:test";
import { streamLog, tailOffset } from "./log-stream.ts";

describe("tailOffset", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fsb-tail-"));
  after(() => rm(dir, { recursive: true, force: true }));
  const tail = async (content: string, lines: number, chunk = 64) => {
    const file = path.join(dir, "log");
    await writeFile(file, content);
    const handle = await open(file, "r");
    try {
      return content.slice(await tailOffset(handle, Buffer.alloc(chunk), lines, Buffer.byteLength(content)));
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

describe("streamLog without follow", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fsb-tail-"));
  after(() => rm(dir, { recursive: true, force: true }));

  it("sends a tail of N lines as N lines while the process keeps writing", async () => {
    const file = path.join(dir, "busy.log");
    await writeFile(file, "line 1\nline 2\nline 3\n");
    let sent = "";
    let appended = false;
    // The process writes again while the first piece goes out: the write completes (and drains)
    // only once the new line is in the file, before streamLog reads on.
    const out = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, done) {
        sent += chunk.toString();
        if (appended) return done();
        appended = true;
        appendFile(file, "line 4\n").then(() => done(), done);
      },
    });
    const options = { path: file, follow: false, finished: () => true, signal: new AbortController().signal };
    await streamLog(out, { ...options, tailLines: 2 });
    assert.equal(sent, "line 2\nline 3\n");
    sent = "";
    await appendFile(file, "line 5\n");
    await streamLog(out, { ...options, tailLines: 1 });
    assert.equal(sent, "line 5\n");
  });
});

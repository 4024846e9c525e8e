// The standalone token file: created once with mode 0600, then reused.
import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ensureTokenFile } from "./token-file.ts";

describe("ensureTokenFile", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "fsb-token-"));
  after(() => rm(dir, { recursive: true, force: true }));

  it("creates a random token readable only by its owner, and returns the same one next time", async () => {
    const file = path.join(dir, "sub", "token");
    const first = await ensureTokenFile(file);
    assert.match(first, /^[A-Za-z0-9_-]{40,}$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(await ensureTokenFile(file), first);
  });

  it("tightens the mode of an existing token file", async () => {
    const file = path.join(dir, "loose");
    await writeFile(file, "given-token\n", { mode: 0o644 });
    assert.equal(await ensureTokenFile(file), "given-token");
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it("replaces an empty file with a fresh token", async () => {
    const file = path.join(dir, "empty");
    await writeFile(file, "");
    assert.ok((await ensureTokenFile(file)).length > 40);
  });
});

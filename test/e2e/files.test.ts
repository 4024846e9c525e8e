// Files in sandboxes through the whole stack (SDK, plain HTTP or fsb-ctl → controller → agent → a
// busybox process inside the sandbox): binary-safe round trips, the metadata operations, streaming
// transfers over HTTP/1.1, `fsb-ctl cp` both ways, escapes through planted symlinks, and the errors.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { FastSandbox, InvalidArgumentError, NotFoundError, type Sandbox } from "@fast-sandbox/sdk";
import type { ContainerdConnection } from "../../packages/server/src/containerd/connection.ts";
import { buildCli, type CliWorkspace, cliWorkspace } from "../harness/cli.ts";
import { testConnection } from "../harness/containerd.ts";
import { type ControllerProcess, startControllerProcess } from "../harness/controller-process.ts";

describe("files through the API", () => {
  let conn: ContainerdConnection;
  let ctl: ControllerProcess;
  let fsb: FastSandbox;
  let box: Sandbox;
  let ws: CliWorkspace;
  let host: string;

  before(async () => {
    conn = await testConnection();
    await buildCli();
    [ctl, ws, host] = await Promise.all([
      startControllerProcess({ socketPath: conn.socketPath, localAgents: 1, capacity: 3 }),
      cliWorkspace(),
      mkdtemp(path.join(os.tmpdir(), "fsb-files-host-")),
    ]);
    fsb = new FastSandbox({ endpoint: ctl.url, token: ctl.token });
    box = await fsb.sandboxes.create({ name: "fs", image: "busybox", command: ["sleep", "600"] });
  });
  after(async () => {
    await ctl?.cleanup();
    await ws?.cleanup();
    if (host) await rm(host, { recursive: true, force: true });
    conn?.close();
  });

  it("round-trips every byte value, unary and streamed", async () => {
    const all = Uint8Array.from({ length: 1024 }, (_, i) => i % 256);
    await box.files.write("/data/all.bin", all, { mode: 0o600 });
    assert.deepEqual(Buffer.from(await box.files.read("/data/all.bin")), Buffer.from(all));
    const info = await box.files.stat("/data/all.bin");
    assert.deepEqual([info.type, info.size, info.mode, info.name], ["file", 1024, 0o600, "all.bin"]);

    // 24 MiB in 64 KiB pieces from an async iterable: streamed, never held whole by the SDK.
    const piece = randomBytes(64 * 1024);
    const sent = createHash("sha256");
    async function* source() {
      for (let i = 0; i < 384; i++) {
        sent.update(piece);
        yield piece;
      }
    }
    await box.files.upload("/data/big/stream.bin", source());
    const got = createHash("sha256");
    let size = 0;
    for await (const chunk of await box.files.download("/data/big/stream.bin")) {
      got.update(chunk);
      size += chunk.length;
    }
    assert.deepEqual([size, got.digest("hex")], [24 * 1024 * 1024, sent.digest("hex")]);
  });

  it("makes, lists, stats, moves and removes", async () => {
    await box.files.mkdir("/w/a/b");
    await box.files.write("/w/a/b/deep.txt", "deep");
    await box.files.write("/w/top file.txt", "top");
    const one = await box.files.list("/w");
    assert.deepEqual(
      one.files.map((f) => [f.path, f.type]),
      [
        ["/w/a", "directory"],
        ["/w/top file.txt", "file"],
      ],
    );
    const all = await box.files.list("/w", { depth: 3 });
    assert.deepEqual(
      all.files.map((f) => f.path),
      ["/w/a", "/w/a/b", "/w/a/b/deep.txt", "/w/top file.txt"],
    );
    await box.files.move("/w/top file.txt", "/w/a/moved.txt");
    assert.equal(new TextDecoder().decode(await box.files.read("/w/a/moved.txt")), "top");
    await assert.rejects(box.files.stat("/w/top file.txt"), NotFoundError);
    await assert.rejects(box.files.remove("/w/a"), (err: unknown) => {
      assert.equal((err as { code?: string }).code, "failed_precondition");
      assert.match((err as Error).message, /\/w\/a/);
      return true;
    });
    await box.files.remove("/w", { recursive: true });
    await assert.rejects(box.files.list("/w"), (err: unknown) => {
      assert.ok(err instanceof NotFoundError, String(err));
      assert.match(err.message, /\/w: no such file or directory/);
      return true;
    });
  });

  it("streams over plain HTTP/1.1 with the token, and answers errors as JSON naming the field", async () => {
    const url = (query: string) => `${ctl.url}/files/v1/namespaces/default/sandboxes/fs?${query}`;
    const auth = { authorization: `Bearer ${ctl.token}` };
    const put = await fetch(url("path=/http/x.txt&parents=true&mode=640"), {
      method: "PUT",
      headers: auth,
      body: "over http\n",
    });
    assert.equal(put.status, 200, await put.text());
    const get = await fetch(url("path=/http/x.txt"), { headers: auth });
    assert.deepEqual([get.status, await get.text()], [200, "over http\n"]);
    assert.equal((await box.files.stat("/http/x.txt")).mode, 0o640);

    const noToken = await fetch(url("path=/http/x.txt"));
    assert.equal(noToken.status, 401);
    await noToken.body?.cancel();
    const relative = await fetch(url("path=http/x.txt"), { headers: auth });
    const body = (await relative.json()) as { error: { code: string; field?: string } };
    assert.deepEqual([relative.status, body.error.code, body.error.field], [400, "INVALID_ARGUMENT", "path"]);
    await assert.rejects(box.files.download("http/x.txt"), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError, String(err));
      assert.deepEqual([err.field, err.message], ["path", 'path: "http/x.txt" is not an absolute path']);
      return true;
    });
    const missing = await fetch(url("path=/http/none"), { headers: auth });
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });

  it("answers a refused upload at once, and a timeout or a cancel as typed errors, leaving nothing", async () => {
    const code = (err: unknown) => (err as { code?: string }).code;
    async function* plenty() {
      for (let i = 0; i < 128; i++) yield new Uint8Array(64 * 1024);
    }
    await assert.rejects(box.files.upload("/sys/fsb-upload", plenty()), (err) => {
      assert.equal(code(err), "permission_denied", String(err));
      return true;
    });
    async function* trickle() {
      for (;;) {
        yield new Uint8Array(1024);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await assert.rejects(box.files.upload("/tmp/slow", trickle(), { timeoutMs: 300 }), (err) => {
      assert.equal(code(err), "deadline_exceeded", String(err));
      return true;
    });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    await assert.rejects(box.files.upload("/tmp/slow", trickle(), { signal: stop.signal }), (err) => {
      assert.equal(code(err), "cancelled", String(err));
      return true;
    });
    // The broken-off uploads left neither the file nor a temporary name.
    const deadline = Date.now() + 10_000;
    let left: string[] = [];
    do {
      left = (await box.files.list("/tmp")).files.map((f) => f.name).filter((n) => /slow|fsb-upload/.test(n));
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    } while (Date.now() < deadline);
    assert.deepEqual(left, []);
  });

  it("fsb-ctl cp copies a file and a directory in and out, as docker cp does", async () => {
    const env = { FSB_ENDPOINT: ctl.url, FSB_TOKEN: ctl.token };
    const src = path.join(ws.cwd, "src");
    await mkdir(path.join(src, "sub dir"), { recursive: true });
    await writeFile(path.join(src, "a.txt"), "a\n");
    await writeFile(path.join(src, "sub dir", "b.bin"), randomBytes(100_000));
    await writeFile(path.join(ws.cwd, "one.txt"), "one\n", { mode: 0o755 });

    const file = await ws.run(["cp", "one.txt", "fs:/tmp/one.txt"], { env });
    assert.equal(file.code, 0, file.stderr);
    assert.equal((await box.files.stat("/tmp/one.txt")).mode, 0o755);
    await box.files.mkdir("/srv");
    const dir = await ws.run(["cp", "src", "fs:/srv"], { env });
    assert.equal(dir.code, 0, dir.stderr);
    assert.deepEqual(
      (await box.files.list("/srv/src", { depth: 2 })).files.map((f) => f.path),
      ["/srv/src/a.txt", "/srv/src/sub dir", "/srv/src/sub dir/b.bin"],
    );

    const back = await ws.run(["cp", "fs:/srv/src", "back"], { env });
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual((await readdir(path.join(ws.cwd, "back"))).sort(), ["a.txt", "sub dir"]);
    assert.deepEqual(
      await readFile(path.join(ws.cwd, "back", "sub dir", "b.bin")),
      await readFile(path.join(src, "sub dir", "b.bin")),
    );
    const fileBack = await ws.run(["cp", "fs:/tmp/one.txt", "one-back.txt"], { env });
    assert.equal(fileBack.code, 0, fileBack.stderr);
    assert.equal(await readFile(path.join(ws.cwd, "one-back.txt"), "utf8"), "one\n");

    const none = await ws.run(["cp", "fs:/no/such", "x"], { env });
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /fs:\/no\/such: no such file or directory/);
  });

  it("never reaches the host through symlinks the sandbox planted", async () => {
    await writeFile(path.join(host, "canary"), "host secret\n");
    const before = await snapshot(host);
    const planted = await box.exec(
      `ln -s / /tmp/host && ln -s ${host}/canary /tmp/canary-link && mkdir -p /esc && ln -s /tmp/host/.. /esc/up`,
    );
    assert.equal(planted.exitCode, 0, planted.stderr);

    await assert.rejects(box.files.read(`/tmp/host${host}/canary`), NotFoundError);
    await assert.rejects(box.files.read("/tmp/canary-link"), NotFoundError);
    await assert.rejects(box.files.list(`/esc/up/esc/up${host}`), NotFoundError);
    // Writes land in the sandbox's own tree (parents are made there), never in the host's directory.
    await box.files.write(`/tmp/host${host}/planted`, "from the sandbox");
    await box.files.upload(`/esc/up${host}/streamed`, "from the sandbox");
    await box.files.remove(`/tmp/host${host}/planted`);
    await box.files.write(`/tmp/host${host}/planted`, "from the sandbox");
    await box.files.move("/tmp/canary-link", "/tmp/moved-link");
    assert.deepEqual(await snapshot(host), before);
    for (const landed of [`${host}/planted`, `${host}/streamed`]) {
      assert.equal(new TextDecoder().decode(await box.files.read(landed)), "from the sandbox", landed);
    }
    assert.equal((await box.files.stat("/tmp/moved-link")).type, "symlink");
    await box.files.remove(`/tmp/host${host}`, { recursive: true });
    await box.files.remove("/tmp/moved-link");
    assert.deepEqual(await snapshot(host), before);
  });

  it("answers NOT_FOUND for an unknown sandbox and FAILED_PRECONDITION naming the phase", async () => {
    await assert.rejects(
      fsb.sandboxes.get("nope").then((b) => b.files.stat("/")),
      NotFoundError,
    );
    const job = await fsb.sandboxes.create({ name: "done", image: "busybox", command: ["true"] });
    const deadline = Date.now() + 20_000;
    while ((await job.refresh()).phase !== "Succeeded") {
      assert.ok(Date.now() < deadline, `still ${job.phase}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await assert.rejects(job.files.stat("/"), (err: unknown) => {
      assert.equal((err as { code?: string }).code, "failed_precondition");
      assert.match((err as Error).message, /sandbox default\/done is Succeeded/);
      return true;
    });
    const rpc = ctl.files;
    const at = { name: "done", path: "/tmp/x" };
    const calls: Array<[string, () => Promise<unknown>]> = [
      ["Stat", () => rpc.stat(at)],
      ["List", () => rpc.list(at)],
      ["MakeDir", () => rpc.makeDir(at)],
      ["Remove", () => rpc.remove(at)],
      ["Move", () => rpc.move({ name: "done", from: "/a", to: "/b" })],
      [
        "ReadFile",
        async () => {
          for await (const _ of rpc.readFile(at)) {
            // Refused before the first chunk.
          }
        },
      ],
      ["WriteFile", () => rpc.writeFile(at)],
    ];
    for (const [method, call] of calls) {
      const code = await call().then(
        () => undefined,
        (err: unknown) => ConnectError.from(err).code,
      );
      assert.equal(code, Code.FailedPrecondition, method);
    }
    const http = await fetch(`${ctl.url}/files/v1/namespaces/default/sandboxes/done?path=/etc/passwd`, {
      headers: { authorization: `Bearer ${ctl.token}` },
    });
    assert.equal(http.status, 412);
    await http.body?.cancel();
  });
});

/** Every entry below `dir` with its size and content hash: what "untouched" means. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const full = path.join(dir, name);
    const s = await stat(full);
    const hash = s.isFile()
      ? createHash("sha256")
          .update(await readFile(full))
          .digest("hex")
      : "dir";
    out.push(`${name} ${s.size} ${hash}`);
  }
  return out;
}

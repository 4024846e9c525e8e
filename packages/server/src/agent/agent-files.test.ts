// File operations in sandboxes through a real fsb-agent on the real test containerd (runc, and
// gVisor where runsc exists): round trips, metadata operations, and every symlink escape refused
// with the host untouched.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { type AgentFiles, agentFiles } from "../../../../test/harness/agent-files.ts";
import {
  type AgentProcess,
  removeLogDir,
  startAgentProcess,
} from "../../../../test/harness/agent-process.ts";
import { TEST_IMAGE, TEST_NAMESPACE } from "../../../../test/harness/constants.ts";
import { testConnection } from "../../../../test/harness/containerd.ts";
import { execToEnd } from "../../../../test/harness/exec-stream.ts";
import type { ContainerdConnection } from "../containerd/connection.ts";

const hasRunsc = (() => {
  try {
    execFileSync("sh", ["-c", "command -v runsc"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** A host directory no sandbox may reach: its listing, contents and times are compared after each attack. */
function hostCanary() {
  const dir = `/tmp/fsb-canary-${randomBytes(6).toString("hex")}`;
  mkdirSync(dir);
  const secret = randomBytes(24).toString("hex");
  writeFileSync(`${dir}/secret`, secret);
  const snapshot = () => ({
    entries: readdirSync(dir).sort(),
    secret: readFileSync(`${dir}/secret`, "utf8"),
    mtime: statSync(`${dir}/secret`).mtimeMs,
    dirMtime: statSync(dir).mtimeMs,
  });
  return {
    dir,
    secret,
    before: snapshot(),
    snapshot,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Everything a response body delivered, and whether it ended normally or was cut off. */
async function received(res: Response): Promise<{ bytes: Buffer; complete: boolean }> {
  const parts: Buffer[] = [];
  try {
    for await (const chunk of res.body ?? []) parts.push(Buffer.from(chunk));
    return { bytes: Buffer.concat(parts), complete: true };
  } catch {
    return { bytes: Buffer.concat(parts), complete: false };
  }
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
}

/** `total` bytes of a repeating pattern, produced as read (never whole in memory). */
function patternStream(total: number): Readable {
  const block = Buffer.alloc(64 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 7 + 3) & 0xff;
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(block.length, total - sent);
      sent += n;
      this.push(block.subarray(0, n));
    },
  });
}

/** FSB_FILES_RUNTIME=container (or gvisor) runs one runtime's half only, for quick local runs. */
const only = process.env.FSB_FILES_RUNTIME;

for (const runtime of ["container", "gvisor"] as const) {
  describe(`agent file operations (${runtime})`, {
    skip: (runtime === "gvisor" && !hasRunsc && "no runsc") || (only !== undefined && only !== runtime),
  }, () => {
    let agent: AgentProcess;
    let conn: ContainerdConnection;
    let sandboxId: string;
    let files: AgentFiles;
    const sh = async (script: string) => {
      const r = await execToEnd(agent, { sandboxId, command: ["sh", "-c", script] });
      assert.equal(r.exit?.exitCode, 0, `${script}: ${r.stderr}`);
      return r.stdout;
    };

    before(async () => {
      conn = await testConnection();
      agent = await startAgentProcess({
        socketPath: conn.socketPath,
        namespace: TEST_NAMESPACE,
        capacity: 2,
        ...(runtime === "gvisor" ? { extraArgs: ["--runtime", "gvisor"] } : {}),
      });
      sandboxId = `${agent.agentId}-files`;
      const res = await agent.request("POST", "/api/v1/agent/create", {
        sandbox: { sandboxId, name: "files", image: TEST_IMAGE, command: ["sleep", "600"] },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      files = agentFiles(agent, sandboxId);
    });
    after(async () => {
      await agent?.request("POST", "/api/v1/agent/delete", { sandboxId, gracePeriodSeconds: 0 });
      await agent?.stop();
      if (agent) await removeLogDir(agent.logDir);
      conn?.close();
    });

    it("round-trips all 256 byte values, with parents made and the mode set", async () => {
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const up = await files.upload("/tmp/new/dir/bytes.bin", bytes, { parents: "true", mode: "600" });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      const down = await files.download("/tmp/new/dir/bytes.bin");
      assert.equal(down.status, 200);
      assert.deepEqual(down.bytes, bytes);
      assert.equal(await sh("stat -c %a /tmp/new/dir/bytes.bin"), "600\n");
      assert.equal(
        await sh("ls -a /tmp/new/dir | grep -c fsb-upload || true"),
        "0\n",
        "no temporary file left",
      );
      // Replacing a file keeps its mode unless one is given.
      assert.equal((await files.upload("/tmp/new/dir/bytes.bin", Buffer.from("x"))).status, 200);
      assert.equal(await sh("stat -c '%a %s' /tmp/new/dir/bytes.bin"), "600 1\n");
      assert.equal((await files.download("/tmp/empty-missing")).status, 404);
      assert.equal(
        (await files.upload("/tmp/nodir/x", Buffer.from("x"))).status,
        404,
        "no parents without parents=true",
      );
    });

    it("streams a large upload and download with the agent's memory flat", async () => {
      // A first transfer warms the agent up (buffers, JIT). The second moves four times what the
      // agent may grow by: a file held whole, even once, fails; garbage the GC has not taken yet
      // (tens of MiB at times, seen in CI with 48 MiB moved) does not.
      assert.equal((await files.upload("/tmp/warm.bin", patternStream(16 * 1024 * 1024))).status, 200);
      await (await files.open("/tmp/warm.bin")).arrayBuffer();
      const total = 192 * 1024 * 1024;
      const rssBefore = rssKiB(agent.pid);
      const up = await files.upload("/tmp/big.bin", patternStream(total));
      assert.equal(up.status, 200, JSON.stringify(up.body));
      const rssAfterUpload = rssKiB(agent.pid);
      assert.equal(await sh("stat -c %s /tmp/big.bin"), `${total}\n`);
      const res = await files.open("/tmp/big.bin");
      assert.equal(res.status, 200);
      const expected = patternStream(total);
      let offset = 0;
      let pending = Buffer.alloc(0);
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        pending = Buffer.concat([pending, Buffer.from(chunk)]);
        while (pending.length >= 65536 || (pending.length > 0 && offset + pending.length === total)) {
          const want = expected.read(Math.min(65536, pending.length)) as Buffer;
          assert.ok(want, "more bytes than were uploaded");
          assert.ok(pending.subarray(0, want.length).equals(want), `bytes differ near offset ${offset}`);
          offset += want.length;
          pending = pending.subarray(want.length);
        }
      }
      assert.equal(offset, total);
      const growth = Math.max(rssAfterUpload, rssKiB(agent.pid)) - rssBefore;
      assert.ok(growth < total / 4 / 1024, `the agent grew by ${growth} KiB moving ${total} bytes`);
    });

    it("stats, lists (one level and deeper, odd names), makes dirs, moves and removes", async () => {
      await sh(
        "mkdir -p '/srv/t/a b/c' && printf 12345 > '/srv/t/a b/f' && printf x > \"/srv/t/new\nline\" && ln -s /etc /srv/t/link",
      );
      const stat = await files.call("stat", { path: "/srv/t/a b/f" });
      assert.equal(stat.status, 200);
      assert.deepEqual([stat.body.file.type, stat.body.file.size, stat.body.file.name], ["file", 5, "f"]);
      assert.equal((await files.call("stat", { path: "/srv/t/link" })).body.file.type, "symlink");

      const one = await files.call("list", { path: "/srv/t" });
      assert.deepEqual(
        one.body.files.map((f: any) => [f.path, f.type]),
        [
          ["/srv/t/a b", "directory"],
          ["/srv/t/link", "symlink"],
          ["/srv/t/new\nline", "file"],
        ],
      );
      const deep = await files.call("list", { path: "/srv/t", depth: 3 });
      assert.deepEqual(
        deep.body.files.map((f: any) => f.path),
        ["/srv/t/a b", "/srv/t/a b/c", "/srv/t/a b/f", "/srv/t/link", "/srv/t/new\nline"],
      );
      assert.equal(deep.body.truncated, false);

      assert.equal((await files.call("mkdir", { path: "/srv/m/n", parents: true, mode: 0o700 })).status, 200);
      assert.equal(await sh("stat -c %a /srv/m/n"), "700\n");
      const exists = await files.call("mkdir", { path: "/srv/m/n" });
      assert.equal(exists.body.error.code, "ALREADY_EXISTS");
      assert.equal((await files.call("move", { from: "/srv/t/a b/f", to: "/srv/m/n/g" })).status, 200);
      assert.equal((await files.download("/srv/m/n/g")).bytes.toString(), "12345");

      const notEmpty = await files.call("remove", { path: "/srv/t/a b" });
      assert.equal(notEmpty.status, 412);
      assert.match(notEmpty.body.error.message, /remove \/srv\/t\/a b: directory not empty/);
      assert.equal((await files.call("remove", { path: "/srv/t", recursive: true })).status, 200);
      assert.equal(await sh("test -e /srv/t && echo there || echo gone"), "gone\n");
      assert.equal(
        await sh("test -e /etc/passwd && echo kept"),
        "kept\n",
        "a symlink is removed, not its target",
      );
    });

    it("answers NOT_FOUND and FAILED_PRECONDITION naming the path", async () => {
      const cases: [string, Record<string, unknown>, number, RegExp][] = [
        ["stat", { path: "/nope" }, 404, /stat \/nope: no such file or directory/],
        ["list", { path: "/nope" }, 404, /list \/nope/],
        ["list", { path: "/etc/passwd" }, 412, /list \/etc\/passwd: not a directory/],
        ["remove", { path: "/nope" }, 404, /remove \/nope/],
        ["move", { from: "/nope", to: "/x" }, 404, /move \/nope to \/x/],
        ["mkdir", { path: "/etc/passwd/x" }, 412, /not a directory/],
        ["stat", { path: "relative" }, 400, /absolute/],
        ["remove", { path: "/" }, 400, /cannot remove \//],
      ];
      for (const [op, body, status, message] of cases) {
        const res = await files.call(op as "stat", body);
        assert.equal(res.status, status, `${op} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
        assert.match(res.body.error.message, message);
      }
      const dir = await files.download("/etc");
      assert.equal(dir.status, 412);
      assert.match(dir.body.error.message, /read \/etc: is a directory/);
    });

    it("moves directories as tar streams both ways", async () => {
      await sh("mkdir -p /data/src/sub && printf one > /data/src/a && printf two > '/data/src/sub/b c'");
      const tar = await files.download("/data/src", { archive: "tar" });
      assert.equal(tar.status, 200);
      const up = await files.upload("/data/copy", tar.bytes, { archive: "tar" });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      assert.equal(await sh("cat /data/copy/src/a '/data/copy/src/sub/b c'"), "onetwo");
      assert.equal((await files.download("/data/missing", { archive: "tar" })).status, 404);
    });

    describe("escapes", () => {
      let canary: ReturnType<typeof hostCanary>;
      const escapeName = `fsb-escape-${randomBytes(4).toString("hex")}`;
      before(async () => {
        canary = hostCanary();
        await sh(
          [
            "ln -s / /tmp/host",
            `ln -s /etc/shadow /tmp/shadow`,
            `ln -s ${canary.dir}/secret /tmp/secret`,
            `ln -s ${canary.dir} /tmp/parent`,
            "mkdir -p /tmp/deep/a/b",
          ].join(" && "),
        );
      });
      after(() => {
        canary.remove();
        rmSync(`/${escapeName}`, { force: true, recursive: true });
      });
      const hostUntouched = () => {
        assert.deepEqual(canary.snapshot(), canary.before, "the host canary changed");
        assert.equal(existsSync(`/${escapeName}`), false, "a file appeared on the host");
      };

      /**
       * gVisor (Debian 12's runsc) resolves a path that goes through the planted `/tmp/host` (a link
       * to `/`) and then into a mount point (`/tmp`, a tmpfs there) to the sandbox's own root: so
       * `/tmp/host/tmp/<anything>` reads as a directory (the sandbox's `/`), a tar of it is the
       * sandbox's whole root, and a recursive remove through it would empty the sandbox. Odd, but
       * confined: it is the sandbox's root, never the host's.
       */
      const gvisor = runtime === "gvisor";

      it("reads through planted symlinks and .. chains see only the sandbox", async () => {
        for (const path of [
          "/tmp/secret",
          `/tmp/host${canary.dir}/secret`,
          `/tmp/parent/secret`,
          `/tmp/deep/a/b/../../../../../../..${canary.dir}/secret`,
        ]) {
          const res = await files.download(path);
          // runc answers NOT_FOUND (the sandbox has no such file); gVisor's own path walk may
          // answer another refusal. Either way, never the host's file.
          if (runtime === "container")
            assert.equal(res.status, 404, `${path}: ${res.status} ${res.bytes.toString().slice(0, 400)}`);
          assert.ok(!res.bytes.toString().includes(canary.secret));
          // Under gVisor a tar through /tmp/host is of the sandbox's whole root (with /proc), which
          // the agent cuts off when a file in it cannot be read: every byte that came is checked.
          const tar = await received(await files.open(path, { archive: "tar" }));
          assert.ok(gvisor || tar.complete, `${path}: the tar was cut off`);
          assert.ok(!tar.bytes.toString("latin1").includes(canary.secret));
        }
        const shadow = await files.download("/tmp/shadow");
        if (existsSync("/etc/shadow") && shadow.status === 200) {
          assert.notDeepEqual(shadow.bytes, readFileSync("/etc/shadow"), "read the host's /etc/shadow");
        }
        hostUntouched();
      });

      it("writes, mkdirs and moves through them land inside the sandbox", async () => {
        const targets = [
          `/tmp/host${canary.dir}/written`,
          `/tmp/parent/written`,
          `/tmp/deep/../../..${canary.dir}/written`,
          `/tmp/host/${escapeName}`,
        ];
        for (const path of targets) {
          await files.upload(path, Buffer.from("pwned"), { parents: "true" });
        }
        await files.upload("/tmp/shadow", Buffer.from("pwned"));
        await files.call("mkdir", { path: `/tmp/host${canary.dir}/made`, parents: true });
        await files.call("move", { from: "/tmp/deep", to: `/tmp/parent/moved` });
        await files.upload(`/tmp/host${canary.dir}`, Buffer.from(""), { archive: "tar" });
        hostUntouched();
        // They did happen, in the sandbox's own root (runc; see the read test for gVisor).
        if (runtime === "container") {
          assert.equal(await sh(`cat ${canary.dir}/written /${escapeName}`), "pwnedpwned");
        }
        // The planted link itself was replaced (a rename), not the file it named.
        assert.equal(await sh("test -L /tmp/shadow || cat /tmp/shadow"), "pwned");
      });

      it("lists and removes through them see only the sandbox", async () => {
        const listed = await files.call("list", { path: "/tmp/host/tmp", depth: 2 });
        assert.equal(listed.status, 200);
        const paths = listed.body.files.map((f: any) => f.path);
        if (runtime === "container") {
          assert.ok(paths.includes(`/tmp/host${canary.dir}/written`), "the sandbox's own copy is listed");
        }
        assert.ok(!paths.includes(`/tmp/host${canary.dir}/secret`), "listed the host canary");
        const viaLink = await files.call("list", { path: "/tmp/parent" });
        assert.ok(!viaLink.body.files?.some((f: any) => f.name === "secret"), "listed the host canary");
        // Not through /tmp/host under gVisor: that is the sandbox's own root there (see above).
        const removals = gvisor
          ? ["/tmp/parent/", `/tmp/../..${canary.dir}`]
          : [`/tmp/host${canary.dir}`, "/tmp/parent/", `/tmp/../..${canary.dir}`];
        for (const path of removals) await files.call("remove", { path, recursive: true });
        await files.call("remove", { path: "/tmp/secret" });
        hostUntouched();
      });

      it("a directory swapped for a symlink while the agent works never leads out", async () => {
        const loop = await execToEnd(agent, {
          sandboxId,
          command: [
            "sh",
            "-c",
            `mkdir -p /race-target; (for i in $(seq 1 1500); do rm -rf /tmp/race; mkdir /tmp/race; rm -rf /tmp/race; ln -s ${canary.dir} /tmp/race; done) >/dev/null 2>&1 & echo started`,
          ],
        });
        assert.equal(loop.stdout, "started\n");
        for (let i = 0; i < 15; i++) {
          await files.upload("/tmp/race/secret", Buffer.from(`race ${i}`), { parents: "true" });
          await files.download("/tmp/race/secret");
          await files.call("list", { path: "/tmp/race" });
          await files.call("remove", { path: "/tmp/race/secret" });
          await files.call("mkdir", { path: "/tmp/race/d", parents: true });
        }
        hostUntouched();
      });
    });
  });
}

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fileFailure,
  ListParser,
  listArgv,
  mkdirArgv,
  moveArgv,
  parentOf,
  parseStatLine,
  readArgv,
  removeArgv,
  tarCreateArgv,
  writeArgv,
} from "./file-commands.ts";
import { BUSYBOX_IN_SANDBOX } from "./sandbox-tools.ts";

describe("file command lines", () => {
  it("pass every path as an argument of its own, after the script", () => {
    const odd = "/tmp/$(reboot) `x` 'a\"b\n";
    for (const argv of [
      listArgv(odd, 2),
      removeArgv(odd, false),
      writeArgv({ path: odd, temporary: "/tmp/.t", parents: true, mode: undefined }),
    ]) {
      assert.equal(argv[0], BUSYBOX_IN_SANDBOX);
      assert.equal(argv[1], "sh");
      assert.ok(!argv[3]?.includes(odd), "the script does not contain the path");
      assert.ok(argv.slice(4).includes(odd));
    }
    for (const argv of [readArgv(odd), removeArgv(odd, true), mkdirArgv(odd, true, 0o700)]) {
      assert.equal(argv.at(-1), odd);
      assert.equal(argv.at(-2), "--");
    }
  });
  it("write in the path's directory, with the mode in octal or empty to keep the old one", () => {
    const argv = writeArgv({ path: "/a/b/c", temporary: "/a/b/.fsb-1", parents: false, mode: 0o755 });
    assert.deepEqual(argv.slice(4), ["sh", "/a/b", "/a/b/.fsb-1", "/a/b/c", "0", "755"]);
    const keep = writeArgv({ path: "/c", temporary: "/.t", parents: true, mode: undefined });
    assert.deepEqual(keep.slice(5), ["/", "/.t", "/c", "1", ""]);
  });
  it("name options by the request", () => {
    assert.deepEqual(mkdirArgv("/x", true, 0o750).slice(1), ["mkdir", "-p", "-m", "750", "--", "/x"]);
    assert.deepEqual(mkdirArgv("/x", false, undefined).slice(1), ["mkdir", "--", "/x"]);
    assert.deepEqual(moveArgv("/a", "/b").slice(1), ["mv", "-f", "-T", "--", "/a", "/b"]);
    assert.deepEqual(listArgv("/x", 3).slice(-2), ["/x", "3"]);
  });
  it("tar a path under its last name, and / as .", () => {
    assert.deepEqual(tarCreateArgv("/srv/app").slice(-3), ["-C", "/srv", "app"]);
    assert.deepEqual(tarCreateArgv("/top").slice(-3), ["-C", "/", "top"]);
    assert.deepEqual(tarCreateArgv("/").slice(-3), ["-C", "/", "."]);
    assert.equal(parentOf("/a"), "/");
  });
});

describe("parseStatLine", () => {
  const cases: [string, string, Partial<ReturnType<typeof parseStatLine>>][] = [
    ["81a4 12 1000 100 1700000000", "/f", { type: "file", size: 12, mode: 0o644, uid: 1000, gid: 100 }],
    ["41ed 4096 0 0 1700000000", "/d", { type: "directory", mode: 0o755 }],
    ["a1ff 1 0 0 1700000000", "/tmp/host", { type: "symlink", mode: 0o777, name: "host" }],
    ["11a4 0 0 0 1700000000", "/p", { type: "other" }],
    ["8dff 0 0 0 1700000000", "/s", { type: "file", mode: 0o6777 }],
  ];
  for (const [line, path, want] of cases) {
    it(`reads ${line}`, () => {
      const entry = parseStatLine(line, path);
      for (const [k, v] of Object.entries(want)) assert.equal(entry[k as keyof typeof entry], v, k);
      assert.equal(entry.modifiedAt.toISOString(), "2023-11-14T22:13:20.000Z");
    });
  }
  it("refuses output it does not understand", () => {
    assert.throws(() => parseStatLine("stat: oops", "/x"), /unexpected stat output/);
  });
});

describe("ListParser", () => {
  const output = Buffer.concat([
    Buffer.from("81a4 3 0 0 1700000000\n./a b\0"),
    Buffer.from("81a4 1 0 0 1700000000\n./new\nline\0"),
    Buffer.from("41ed 4096 0 0 1700000000\n./d/sub dir\0"),
  ]);
  it("pairs each stat line with its NUL-terminated name, in chunks split anywhere", () => {
    for (let size = 1; size <= output.length; size += 7) {
      const parser = new ListParser("/base");
      const entries = [];
      for (let i = 0; i < output.length; i += size)
        entries.push(...parser.push(output.subarray(i, i + size)));
      assert.deepEqual(
        entries.map((e) => [e.path, e.name, e.type]),
        [
          ["/base/a b", "a b", "file"],
          ["/base/new\nline", "new\nline", "file"],
          ["/base/d/sub dir", "sub dir", "directory"],
        ],
      );
      assert.equal(parser.incomplete, false);
    }
  });
  it("joins names under /, and knows output cut short", () => {
    const parser = new ListParser("/");
    assert.equal(parser.push(Buffer.from("81a4 3 0 0 1\n./etc\0" + "81a4 3 0"))[0]?.path, "/etc");
    assert.equal(parser.incomplete, true);
  });
});

describe("fileFailure", () => {
  const cases: [string, string][] = [
    ["cat: can't open '/x': No such file or directory", "NOT_FOUND"],
    ["sh: line 0: can't create /x/.fsb-1: nonexistent directory", "NOT_FOUND"],
    ["sh: cd: line 0: can't cd to /f: Not a directory", "FAILED_PRECONDITION"],
    ["cat: read error: Is a directory", "FAILED_PRECONDITION"],
    ["rmdir: '/d': Directory not empty", "FAILED_PRECONDITION"],
    ["mkdir: can't create directory '/d': File exists", "ALREADY_EXISTS"],
    ["cat: can't open '/root/x': Permission denied", "PERMISSION_DENIED"],
    ["sh: can't create /ro/x: Read-only file system", "PERMISSION_DENIED"],
    ["cat: write error: No space left on device", "RESOURCE_EXHAUSTED"],
    ["something new", "INTERNAL"],
  ];
  for (const [stderr, code] of cases) {
    it(`${code} for ${JSON.stringify(stderr)}`, () => {
      const err = fileFailure("read", "/x", stderr);
      assert.equal(err.code, code);
      assert.match(err.message, /read \/x/);
      assert.ok(!err.message.includes(".fsb-1"), "a temporary name is never shown");
    });
  }
});

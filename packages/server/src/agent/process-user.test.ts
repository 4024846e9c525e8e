import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "@fast-sandbox/api";
import { parsePasswd, parseUserRequest, resolveUser } from "./process-user.ts";

const passwd = [
  "root:x:0:0:root:/root:/bin/sh",
  "# a comment",
  "broken line",
  "weird:x:abc:1::/:/bin/false",
  "app:x:1000:1001:App:/home/app:/bin/sh",
  "",
].join("\n");

describe("parseUserRequest", () => {
  const valid: Array<[string, ReturnType<typeof parseUserRequest>]> = [
    ["0", { uid: 0, gid: undefined }],
    ["1000:1001", { uid: 1000, gid: 1001 }],
    ["app", { name: "app", gid: undefined }],
    ["app:5", { name: "app", gid: 5 }],
  ];
  for (const [input, want] of valid)
    it(`parses "${input}"`, () => assert.deepEqual(parseUserRequest(input), want));

  for (const input of ["", ":1", "a:b:c", "app:staff", "-rf", "4294967295", "1:4294967296"]) {
    it(`refuses "${input}" as INVALID_ARGUMENT on field user`, () =>
      assert.throws(() => parseUserRequest(input), { code: ErrorCode.InvalidArgument, field: "user" }));
  }
});

describe("parsePasswd", () => {
  it("keeps well-formed entries and skips comments and broken lines", () =>
    assert.deepEqual(parsePasswd(passwd), [
      { name: "root", uid: 0, gid: 0 },
      { name: "app", uid: 1000, gid: 1001 },
    ]));
});

describe("resolveUser", () => {
  it("takes a name's uid and primary gid", () =>
    assert.deepEqual(resolveUser({ name: "app", gid: undefined }, passwd), { uid: 1000, gid: 1001 }));
  it("lets a given gid win over the primary one", () =>
    assert.deepEqual(resolveUser({ name: "app", gid: 7 }, passwd), { uid: 1000, gid: 7 }));
  it("runs a bare uid with gid 0", () =>
    assert.deepEqual(resolveUser({ uid: 5, gid: undefined }, passwd), { uid: 5, gid: 0 }));
  it("refuses a name the image does not have", () =>
    assert.throws(() => resolveUser({ name: "ghost", gid: undefined }, passwd), {
      code: ErrorCode.FailedPrecondition,
      field: "user",
    }));
  it("refuses any name in an image without /etc/passwd", () =>
    assert.throws(() => resolveUser({ name: "root", gid: undefined }, undefined), {
      code: ErrorCode.FailedPrecondition,
    }));
});

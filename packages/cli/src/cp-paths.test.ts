import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { CliError } from "./cli-error.ts";
import { landingPath, parseRemote, planCopy } from "./cp-paths.ts";

describe("cp operands", () => {
  it("reads NAME:/path and leaves local paths alone", () => {
    assert.deepEqual(parseRemote("web:/srv/a b"), { sandbox: "web", path: "/srv/a b" });
    assert.equal(parseRemote("./web:/x"), undefined);
    assert.equal(parseRemote("/tmp/x"), undefined);
    assert.throws(() => parseRemote("web:tmp/x"), CliError);
  });
  it("plans an upload or a download, and refuses two or no sandboxes", () => {
    assert.deepEqual(planCopy("f", "web:/x", "/home/me"), {
      direction: "upload",
      local: "/home/me/f",
      remote: { sandbox: "web", path: "/x" },
    });
    assert.equal(planCopy("web:/x", ".", "/home/me").direction, "download");
    assert.throws(() => planCopy("a:/x", "b:/y", "/"), CliError);
    assert.throws(() => planCopy("a", "b", "/"), CliError);
  });
  it("lands inside an existing directory under the source's name, else at the destination", () => {
    assert.equal(landingPath("/l/src", "/srv", true, path.posix.join), "/srv/src");
    assert.equal(landingPath("/l/src/", "/srv", true, path.posix.join), "/srv/src");
    assert.equal(landingPath("/l/src", "/srv/new", false, path.posix.join), "/srv/new");
    assert.equal(landingPath("/", "/local", true, path.join), "/local/root");
  });
});

// Table tests of prewarmKey: which templates share a key and which do not.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "./errors.ts";
import { type PrewarmTemplateSpec, prewarmKey, prewarmKeyOfCreate } from "./prewarm-key.ts";

const base: PrewarmTemplateSpec = {
  image: "busybox",
  command: ["sh", "-c"],
  args: ["sleep 3600"],
  env: { A: "1", B: "2" },
};

describe("prewarmKey", () => {
  it("is 16 lowercase hex digits", () => {
    assert.match(prewarmKey(base), /^[0-9a-f]{16}$/);
  });

  const same: Array<[string, PrewarmTemplateSpec, PrewarmTemplateSpec]> = [
    [
      "short and fully-qualified image names",
      { image: "busybox" },
      { image: "docker.io/library/busybox:latest" },
    ],
    ["env in another order", base, { ...base, env: { B: "2", A: "1" } }],
    ["absent and empty command", { image: "busybox" }, { image: "busybox", command: [] }],
    ["absent and empty args", { image: "busybox" }, { image: "busybox", args: [] }],
    ["absent and empty env", { image: "busybox" }, { image: "busybox", env: {} }],
  ];
  for (const [name, a, b] of same) {
    it(`same key: ${name}`, () => assert.equal(prewarmKey(a), prewarmKey(b)));
  }

  const different: Array<[string, PrewarmTemplateSpec, PrewarmTemplateSpec]> = [
    ["different args", base, { ...base, args: ["sleep 60"] }],
    ["different command", base, { ...base, command: ["sh", "-ec"] }],
    [
      "args moved into command",
      { image: "busybox", command: ["sleep", "1"] },
      {
        image: "busybox",
        command: ["sleep"],
        args: ["1"],
      },
    ],
    ["different env value", base, { ...base, env: { A: "1", B: "3" } }],
    ["an extra env entry", base, { ...base, env: { A: "1", B: "2", C: "" } }],
    ["different tag", { image: "busybox" }, { image: "busybox:1.36" }],
    ["different image", { image: "busybox" }, { image: "alpine" }],
    ["list order", { image: "busybox", args: ["a", "b"] }, { image: "busybox", args: ["b", "a"] }],
  ];
  for (const [name, a, b] of different) {
    it(`different key: ${name}`, () => assert.notEqual(prewarmKey(a), prewarmKey(b)));
  }

  it("is the sha256 of the canonical JSON, so the controller and agents of any release agree", () => {
    assert.equal(prewarmKey({ image: "busybox" }), prewarmKey({ image: "busybox:latest" }));
    assert.equal(prewarmKey({ image: "busybox", command: ["sleep", "3600"] }), "3af1761af0180acf");
  });

  it("rejects an invalid image reference", () => {
    assert.throws(() => prewarmKey({ image: "Not A Ref" }), { code: ErrorCode.InvalidArgument });
  });
});

describe("prewarmKeyOfCreate", () => {
  const create = { image: "busybox", command: ["sleep", "3600"], env: { A: "1" } };

  it("is the template's key when only template fields are set", () => {
    assert.equal(prewarmKeyOfCreate(create), prewarmKey(create));
    assert.equal(prewarmKeyOfCreate({ ...create, resources: { cpu: undefined } }), prewarmKey(create));
  });

  it("is undefined with a working dir or any resource limit", () => {
    assert.equal(prewarmKeyOfCreate({ ...create, workingDir: "/tmp" }), undefined);
    assert.equal(prewarmKeyOfCreate({ ...create, resources: { memory: "64Mi" } }), undefined);
    assert.equal(prewarmKeyOfCreate({ ...create, resources: { pids: 10 } }), undefined);
  });
});

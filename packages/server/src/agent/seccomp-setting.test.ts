// Unit tests of the --seccomp setting: the flag's words, reading a profile file, and the spec option.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { defaultSpec, type OciSeccomp } from "../containerd/oci-spec.ts";
import { runtimeDefaultSeccomp } from "../containerd/seccomp-profile.ts";
import { loadSeccompSetting, type SeccompChoice, seccompChoice, seccompOption } from "./seccomp-setting.ts";

const PROFILE: OciSeccomp = {
  defaultAction: "SCMP_ACT_ERRNO",
  defaultErrnoRet: 1,
  architectures: ["SCMP_ARCH_X86_64"],
  syscalls: [
    { names: ["read", "write", "exit_group"], action: "SCMP_ACT_ALLOW" },
    { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 40, op: "SCMP_CMP_NE" }] },
    { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
  ],
};

/** A readFile over a map of path → text; any other path fails as a missing file does. */
function files(entries: Record<string, string>) {
  return (path: string): string => {
    const text = entries[path];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  };
}

function assertInvalid(run: () => unknown, field: string, pattern: RegExp): void {
  assert.throws(run, (err) => {
    assert.ok(err instanceof FsbError, `want FsbError, got ${err}`);
    assert.equal(err.code, ErrorCode.InvalidArgument);
    assert.equal(err.field, field);
    assert.match(err.message, pattern);
    return true;
  });
}

describe("seccompChoice", () => {
  const cases: Array<{ raw: string; want: SeccompChoice }> = [
    { raw: "runtime-default", want: { kind: "runtime-default" } },
    { raw: "unconfined", want: { kind: "unconfined" } },
    { raw: "/etc/fsb/seccomp.json", want: { kind: "localhost", path: "/etc/fsb/seccomp.json" } },
  ];
  for (const tc of cases) {
    it(`reads "${tc.raw}"`, () => assert.deepEqual(seccompChoice(tc.raw, "--seccomp"), tc.want));
  }
  for (const raw of ["RuntimeDefault", "profile.json", "", "default"]) {
    it(`refuses "${raw}", naming the flag`, () =>
      assertInvalid(
        () => seccompChoice(raw, "--seccomp"),
        "--seccomp",
        /runtime-default, unconfined or an absolute path/,
      ));
  }
});

describe("loadSeccompSetting", () => {
  it("reads and keeps a valid profile", () => {
    const readFile = files({ "/p.json": JSON.stringify(PROFILE) });
    assert.deepEqual(loadSeccompSetting({ kind: "localhost", path: "/p.json" }, readFile, "--seccomp"), {
      kind: "localhost",
      path: "/p.json",
      profile: PROFILE,
    });
  });

  it("accepts the built-in profile written out as a file", () => {
    const profile = runtimeDefaultSeccomp();
    const readFile = files({ "/d.json": JSON.stringify(profile) });
    const setting = loadSeccompSetting({ kind: "localhost", path: "/d.json" }, readFile, "--seccomp");
    assert.deepEqual(setting.kind === "localhost" && setting.profile, profile);
  });

  it("reads no file for runtime-default and unconfined", () => {
    const readFile = () => assert.fail("reads no file");
    assert.deepEqual(loadSeccompSetting({ kind: "runtime-default" }, readFile, "--seccomp"), {
      kind: "runtime-default",
    });
    assert.deepEqual(loadSeccompSetting({ kind: "unconfined" }, readFile, "--seccomp"), {
      kind: "unconfined",
    });
  });

  const bad: Array<{ name: string; text: string | undefined; pattern: RegExp }> = [
    {
      name: "a missing file",
      text: undefined,
      pattern: /cannot read the profile: ENOENT: no such file or directory, open '\/p\.json'/,
    },
    { name: "a file that is not JSON", text: "{defaultAction:", pattern: /\/p\.json is not JSON/ },
    { name: "an empty object", text: "{}", pattern: /defaultAction/ },
    {
      name: "an unknown action",
      text: JSON.stringify({ defaultAction: "SCMP_ACT_MAYBE" }),
      pattern: /defaultAction/,
    },
    {
      name: "Docker's profile format",
      text: JSON.stringify({ defaultAction: "SCMP_ACT_ERRNO", archMap: [] }),
      pattern: /archMap/,
    },
    {
      name: "a rule without names",
      text: JSON.stringify({
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [{ names: [], action: "SCMP_ACT_ALLOW" }],
      }),
      pattern: /syscalls\[0\]\.names/,
    },
    {
      name: "an argument index beyond 5",
      text: JSON.stringify({
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [
          { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 6, value: 1, op: "SCMP_CMP_EQ" }] },
        ],
      }),
      pattern: /syscalls\[0\]\.args\[0\]\.index/,
    },
    {
      name: "a notify action (no listener runs)",
      text: JSON.stringify({ defaultAction: "SCMP_ACT_NOTIFY" }),
      pattern: /defaultAction/,
    },
  ];
  for (const tc of bad) {
    it(`refuses ${tc.name}, naming --seccomp and the file`, () => {
      const readFile = files(tc.text === undefined ? {} : { "/p.json": tc.text });
      assertInvalid(
        () => loadSeccompSetting({ kind: "localhost", path: "/p.json" }, readFile, "--seccomp"),
        "--seccomp",
        tc.pattern,
      );
    });
  }
});

describe("seccompOption", () => {
  it("puts the built-in profile on the spec for runtime-default", () => {
    const spec = defaultSpec();
    seccompOption({ kind: "runtime-default" }, "container")(spec);
    assert.deepEqual(spec.linux.seccomp, runtimeDefaultSeccomp());
  });

  it("leaves the spec without a filter for unconfined", () => {
    const spec = defaultSpec();
    seccompOption({ kind: "unconfined" }, "container")(spec);
    assert.equal(spec.linux.seccomp, undefined);
  });

  for (const setting of [
    { kind: "runtime-default" as const },
    { kind: "localhost" as const, path: "/p.json", profile: PROFILE },
  ]) {
    it(`leaves a gVisor sandbox without a filter for ${setting.kind} (runsc would not apply it whole)`, () => {
      const spec = defaultSpec();
      seccompOption(setting, "gvisor")(spec);
      assert.equal(spec.linux.seccomp, undefined);
    });
  }

  it("puts a file's profile on the spec for localhost", () => {
    const spec = defaultSpec();
    seccompOption({ kind: "localhost", path: "/p.json", profile: PROFILE }, "container")(spec);
    assert.deepEqual(spec.linux.seccomp, PROFILE);
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import {
  type ImageConfig,
  type ProcessOverrides,
  parseImageUser,
  resolveArgs,
  withImageConfig,
} from "./image-config-option.ts";
import { DEFAULT_PATH_ENV, defaultSpec, type OciProcess } from "./oci-spec.ts";

const image: ImageConfig = { entrypoint: ["/entry"], cmd: ["serve", "--port=80"] };

function processOf(config: ImageConfig, overrides?: ProcessOverrides): OciProcess {
  const spec = defaultSpec();
  withImageConfig(config, overrides)(spec);
  return spec.process;
}

function assertFsbError(run: () => unknown, code: ErrorCode, pattern: RegExp, field?: string): void {
  assert.throws(run, (err) => {
    assert.ok(err instanceof FsbError, `want FsbError, got ${err}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    if (field !== undefined) assert.equal(err.field, field);
    return true;
  });
}

describe("resolveArgs", () => {
  const cases: Array<{ name: string; config: ImageConfig; overrides: ProcessOverrides; want: string[] }> = [
    {
      name: "image defaults: entrypoint then cmd",
      config: image,
      overrides: {},
      want: ["/entry", "serve", "--port=80"],
    },
    {
      name: "command replaces entrypoint and drops cmd",
      config: image,
      overrides: { command: ["/bin/sh"] },
      want: ["/bin/sh"],
    },
    {
      name: "args replace cmd after the entrypoint",
      config: image,
      overrides: { args: ["x"] },
      want: ["/entry", "x"],
    },
    {
      name: "command and args replace both",
      config: image,
      overrides: { command: ["/bin/sh"], args: ["-c", "true"] },
      want: ["/bin/sh", "-c", "true"],
    },
    {
      name: "empty command counts as not given",
      config: image,
      overrides: { command: [] },
      want: ["/entry", "serve", "--port=80"],
    },
    {
      name: "empty args count as not given",
      config: image,
      overrides: { args: [] },
      want: ["/entry", "serve", "--port=80"],
    },
    {
      name: "cmd alone when there is no entrypoint",
      config: { cmd: ["bash"] },
      overrides: {},
      want: ["bash"],
    },
    {
      name: "entrypoint alone when there is no cmd",
      config: { entrypoint: ["/entry"] },
      overrides: {},
      want: ["/entry"],
    },
    {
      name: "args alone when the image has nothing",
      config: {},
      overrides: { args: ["/bin/true"] },
      want: ["/bin/true"],
    },
    { name: "nothing at all", config: {}, overrides: {}, want: [] },
  ];
  for (const tc of cases) {
    it(tc.name, () => assert.deepEqual(resolveArgs(tc.config, tc.overrides), tc.want));
  }
});

describe("parseImageUser", () => {
  const cases: Array<{ name: string; user: string; want: { uid: number; gid: number } }> = [
    { name: "empty is root", user: "", want: { uid: 0, gid: 0 } },
    { name: "root by name", user: "root", want: { uid: 0, gid: 0 } },
    { name: "a bare uid runs with gid 0", user: "1000", want: { uid: 1000, gid: 0 } },
    { name: "uid:gid", user: "1000:100", want: { uid: 1000, gid: 100 } },
    { name: "0:0", user: "0:0", want: { uid: 0, gid: 0 } },
  ];
  for (const tc of cases) {
    it(tc.name, () => assert.deepEqual(parseImageUser(tc.user), tc.want));
  }

  const rejected: Array<{ name: string; user: string }> = [
    { name: "a named user", user: "nobody" },
    { name: "a named group", user: "1000:staff" },
    { name: "root with a group", user: "root:root" },
    { name: "too many parts", user: "1:2:3" },
    { name: "an empty uid", user: ":100" },
    { name: "a negative uid", user: "-1" },
  ];
  for (const tc of rejected) {
    it(`rejects ${tc.name}`, () =>
      assertFsbError(
        () => parseImageUser(tc.user),
        ErrorCode.FailedPrecondition,
        /named users are not supported yet/,
      ));
  }

  it("rejects an out-of-range id", () =>
    assertFsbError(() => parseImageUser("4294967295"), ErrorCode.InvalidArgument, /out of range/));
});

describe("withImageConfig", () => {
  const cases: Array<{
    name: string;
    config: ImageConfig;
    overrides?: ProcessOverrides;
    got: (p: OciProcess) => unknown;
    want: unknown;
  }> = [
    {
      name: "sets args from the image",
      config: image,
      got: (p) => p.args,
      want: ["/entry", "serve", "--port=80"],
    },
    {
      name: "sets args from the overrides",
      config: image,
      overrides: { command: ["/bin/sh"] },
      got: (p) => p.args,
      want: ["/bin/sh"],
    },
    {
      name: "keeps the default PATH when the image sets none",
      config: { ...image, env: ["LANG=C.UTF-8"] },
      got: (p) => p.env,
      want: [DEFAULT_PATH_ENV, "LANG=C.UTF-8"],
    },
    {
      name: "takes PATH from the image",
      config: { ...image, env: ["PATH=/opt/bin", "A=x=y"] },
      got: (p) => p.env,
      want: ["PATH=/opt/bin", "A=x=y"],
    },
    {
      name: "user env wins over image env",
      config: { ...image, env: ["A=image", "B=image"] },
      overrides: { env: { A: "user", C: "user" } },
      got: (p) => p.env,
      want: [DEFAULT_PATH_ENV, "A=user", "B=image", "C=user"],
    },
    { name: "cwd defaults to /", config: image, got: (p) => p.cwd, want: "/" },
    { name: "cwd from the image", config: { ...image, workingDir: "/app" }, got: (p) => p.cwd, want: "/app" },
    {
      name: "an empty image cwd means /",
      config: { ...image, workingDir: "" },
      got: (p) => p.cwd,
      want: "/",
    },
    {
      name: "cwd override wins",
      config: { ...image, workingDir: "/app" },
      overrides: { workingDir: "/tmp" },
      got: (p) => p.cwd,
      want: "/tmp",
    },
    { name: "user defaults to root", config: image, got: (p) => p.user, want: { uid: 0, gid: 0 } },
    {
      name: "user from the image",
      config: { ...image, user: "65534:65534" },
      got: (p) => p.user,
      want: { uid: 65534, gid: 65534 },
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => assert.deepEqual(tc.got(processOf(tc.config, tc.overrides)), tc.want));
  }

  const rejected: Array<{
    name: string;
    config: ImageConfig;
    overrides?: ProcessOverrides;
    code: ErrorCode;
    pattern: RegExp;
    field?: string;
  }> = [
    {
      name: "no command anywhere",
      config: { env: ["A=1"] },
      code: ErrorCode.InvalidArgument,
      pattern: /image has no default command and none was given/,
      field: "command",
    },
    {
      name: "a named image user",
      config: { ...image, user: "app" },
      code: ErrorCode.FailedPrecondition,
      pattern: /named users/,
    },
    {
      name: "a malformed image env entry",
      config: { ...image, env: ["NOEQUALS"] },
      code: ErrorCode.FailedPrecondition,
      pattern: /K=V/,
    },
    {
      name: "a relative image working dir",
      config: { ...image, workingDir: "app" },
      code: ErrorCode.FailedPrecondition,
      pattern: /not absolute/,
    },
    {
      name: "a relative cwd override",
      config: image,
      overrides: { workingDir: "tmp" },
      code: ErrorCode.InvalidArgument,
      pattern: /absolute/,
      field: "cwd",
    },
    {
      name: "a bad user env name",
      config: image,
      overrides: { env: { "A=B": "1" } },
      code: ErrorCode.InvalidArgument,
      pattern: /name/,
    },
  ];
  for (const tc of rejected) {
    it(`rejects ${tc.name}`, () =>
      assertFsbError(() => processOf(tc.config, tc.overrides), tc.code, tc.pattern, tc.field));
  }
});

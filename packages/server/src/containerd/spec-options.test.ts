import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode } from "@fast-sandbox/api";
import { DEFAULT_PATH_ENV, defaultSpec } from "./oci-spec.ts";
import { type ApplyCase, describeOptionCases, onBareSpec, type RejectCase } from "./option-test-cases.ts";
import {
  SHIM_GROUP_ANNOTATION,
  withAnnotations,
  withArgs,
  withBindMount,
  withCwd,
  withEnv,
  withHostname,
  withReadonlyRootfs,
  withShimGroup,
  withUser,
} from "./spec-options.ts";

const applyCases: ApplyCase[] = [
  {
    name: "withArgs sets the command line",
    options: () => [withArgs(["python", "-c", "1"])],
    got: (s) => s.process.args,
    want: ["python", "-c", "1"],
  },
  {
    name: "withEnv appends new variables and keeps PATH",
    options: () => [withEnv({ A: "1", B: "x=y" })],
    got: (s) => s.process.env,
    want: [DEFAULT_PATH_ENV, "A=1", "B=x=y"],
  },
  {
    name: "withEnv overrides PATH in place",
    options: () => [withEnv({ PATH: "/bin" })],
    got: (s) => s.process.env,
    want: ["PATH=/bin"],
  },
  {
    name: "withEnv later call wins by name",
    options: () => [withEnv({ A: "1", B: "2" }), withEnv({ A: "3" })],
    got: (s) => s.process.env,
    want: [DEFAULT_PATH_ENV, "A=3", "B=2"],
  },
  {
    name: "withEnv does not confuse a name with its prefix",
    options: () => [withEnv({ PATHX: "1" })],
    got: (s) => s.process.env,
    want: [DEFAULT_PATH_ENV, "PATHX=1"],
  },
  {
    name: "withEnv allows empty values",
    options: () => [withEnv({ EMPTY: "" })],
    got: (s) => s.process.env,
    want: [DEFAULT_PATH_ENV, "EMPTY="],
  },
  {
    name: "withCwd sets the working directory",
    options: () => [withCwd("/work")],
    got: (s) => s.process.cwd,
    want: "/work",
  },
  {
    name: "withUser sets uid and gid",
    options: () => [withUser(1000, 100)],
    got: (s) => s.process.user,
    want: { uid: 1000, gid: 100 },
  },
  {
    name: "withHostname sets the hostname",
    options: () => [withHostname("sbx-1.example")],
    got: (s) => s.hostname,
    want: "sbx-1.example",
  },
  {
    name: "withShimGroup sets the runc group annotation",
    options: () => [withShimGroup("agent-1")],
    got: (s) => s.annotations,
    want: { [SHIM_GROUP_ANNOTATION]: "agent-1" },
  },
  {
    name: "withAnnotations merges with later values winning",
    options: () => [withAnnotations({ a: "1", b: "2" }), withShimGroup("g"), withAnnotations({ a: "3" })],
    got: (s) => s.annotations,
    want: { a: "3", b: "2", [SHIM_GROUP_ANNOTATION]: "g" },
  },
  {
    name: "withReadonlyRootfs marks the root read-only",
    options: () => [withReadonlyRootfs()],
    got: (s) => s.root,
    want: { path: "rootfs", readonly: true },
  },
  {
    name: "withBindMount appends a read-write bind mount",
    options: () => [withBindMount({ source: "/var/lib/fsb/ws", destination: "/workspace" })],
    got: (s) => s.mounts.at(-1),
    want: {
      destination: "/workspace",
      type: "bind",
      source: "/var/lib/fsb/ws",
      options: ["rbind", "rprivate", "nosuid", "nodev", "rw"],
    },
  },
  {
    name: "withBindMount appends a read-only bind mount",
    options: () => [withBindMount({ source: "/opt/tools", destination: "/tools", readonly: true })],
    got: (s) => s.mounts.at(-1)?.options,
    want: ["rbind", "rprivate", "nosuid", "nodev", "ro"],
  },
  {
    name: "withBindMount normalizes paths",
    options: () => [withBindMount({ source: "/a//b/", destination: "/x/./y/" })],
    got: (s) => [s.mounts.at(-1)?.source, s.mounts.at(-1)?.destination],
    want: ["/a/b/", "/x/y"],
  },
];

const rejectCases: RejectCase[] = [
  {
    name: "withArgs rejects an empty list",
    run: onBareSpec(() => withArgs([])),
    code: ErrorCode.InvalidArgument,
    field: "args",
  },
  {
    name: "withArgs rejects an empty program",
    run: onBareSpec(() => withArgs([""])),
    code: ErrorCode.InvalidArgument,
    field: "args[0]",
  },
  {
    name: "withArgs rejects NUL",
    run: onBareSpec(() => withArgs(["sh", "a\0b"])),
    code: ErrorCode.InvalidArgument,
    field: "args[1]",
  },
  {
    name: "withEnv rejects an empty name",
    run: onBareSpec(() => withEnv({ "": "x" })),
    code: ErrorCode.InvalidArgument,
  },
  {
    name: "withEnv rejects '=' in a name",
    run: onBareSpec(() => withEnv({ "A=B": "x" })),
    code: ErrorCode.InvalidArgument,
  },
  {
    name: "withEnv rejects NUL in a value",
    run: onBareSpec(() => withEnv({ A: "x\0" })),
    code: ErrorCode.InvalidArgument,
    field: "env.A",
  },
  {
    name: "withCwd rejects a relative path",
    run: onBareSpec(() => withCwd("work")),
    code: ErrorCode.InvalidArgument,
    field: "cwd",
  },
  {
    name: "withUser rejects a negative uid",
    run: onBareSpec(() => withUser(-1, 0)),
    code: ErrorCode.InvalidArgument,
    field: "user.uid",
  },
  {
    name: "withUser rejects a fractional gid",
    run: onBareSpec(() => withUser(0, 1.5)),
    code: ErrorCode.InvalidArgument,
    field: "user.gid",
  },
  {
    name: "withUser rejects (uid_t)-1",
    run: onBareSpec(() => withUser(4_294_967_295, 0)),
    code: ErrorCode.InvalidArgument,
    field: "user.uid",
  },
  {
    name: "withHostname rejects an empty name",
    run: onBareSpec(() => withHostname("")),
    code: ErrorCode.InvalidArgument,
    field: "hostname",
  },
  {
    name: "withHostname rejects a name over 64 chars",
    run: onBareSpec(() => withHostname("a".repeat(65))),
    code: ErrorCode.InvalidArgument,
    field: "hostname",
  },
  {
    name: "withHostname rejects underscores",
    run: onBareSpec(() => withHostname("a_b")),
    code: ErrorCode.InvalidArgument,
    field: "hostname",
  },
  {
    name: "withHostname rejects a leading hyphen",
    run: onBareSpec(() => withHostname("-a")),
    code: ErrorCode.InvalidArgument,
    field: "hostname",
  },
  {
    name: "withHostname needs a uts namespace",
    run: () => {
      const spec = defaultSpec();
      spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== "uts");
      withHostname("a")(spec);
    },
    code: ErrorCode.Internal,
  },
  {
    name: "withShimGroup rejects an empty group",
    run: onBareSpec(() => withShimGroup("")),
    code: ErrorCode.InvalidArgument,
    field: "shimGroup",
  },
  {
    name: "withAnnotations rejects an empty key",
    run: onBareSpec(() => withAnnotations({ "": "x" })),
    code: ErrorCode.InvalidArgument,
    field: "annotations",
  },
  {
    name: "withBindMount rejects a relative source",
    run: onBareSpec(() => withBindMount({ source: "data", destination: "/data" })),
    code: ErrorCode.InvalidArgument,
    field: "mount.source",
  },
  {
    name: "withBindMount rejects a relative destination",
    run: onBareSpec(() => withBindMount({ source: "/data", destination: "data" })),
    code: ErrorCode.InvalidArgument,
    field: "mount.destination",
  },
  {
    name: "withBindMount rejects mounting over /",
    run: onBareSpec(() => withBindMount({ source: "/data", destination: "/" })),
    code: ErrorCode.InvalidArgument,
    field: "mount.destination",
  },
  {
    name: "withBindMount rejects mounting under /proc",
    run: onBareSpec(() => withBindMount({ source: "/data", destination: "/x/../proc/sys" })),
    code: ErrorCode.InvalidArgument,
    field: "mount.destination",
  },
  {
    name: "withBindMount rejects mounting over /sys",
    run: onBareSpec(() => withBindMount({ source: "/data", destination: "/sys/" })),
    code: ErrorCode.InvalidArgument,
    field: "mount.destination",
  },
  {
    name: "withBindMount rejects a destination already mounted",
    run: onBareSpec(() => withBindMount({ source: "/data", destination: "/dev/shm" })),
    code: ErrorCode.InvalidArgument,
    field: "mount.destination",
  },
];

describeOptionCases("spec options", applyCases, rejectCases);

describe("spec options on reuse", () => {
  it("withArgs copies its input", () => {
    const args = ["sh"];
    const spec = defaultSpec();
    withArgs(args)(spec);
    args.push("-c");
    assert.deepEqual(spec.process.args, ["sh"]);
  });

  it("an option can be applied to several specs independently", () => {
    const option = withBindMount({ source: "/data", destination: "/data" });
    const [a, b] = [defaultSpec(), defaultSpec()];
    option(a);
    option(b);
    a.mounts.at(-1)?.options?.push("noexec");
    assert.deepEqual(b.mounts.at(-1)?.options, ["rbind", "rprivate", "nosuid", "nodev", "rw"]);
  });
});

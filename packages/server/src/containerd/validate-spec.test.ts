import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { withImageConfig } from "./image-config-option.ts";
import {
  withCgroupsPath,
  withNetworkNamespace,
  withNewNetworkNamespace,
  withResources,
} from "./linux-options.ts";
import { buildSpec, defaultSpec, type OciSpec } from "./oci-spec.ts";
import { withBindMount, withEnv, withHostname, withReadonlyRootfs, withShimGroup } from "./spec-options.ts";
import { validateSpec } from "./validate-spec.ts";

describe("validateSpec accepts", () => {
  const image = {
    entrypoint: ["/entry"],
    cmd: ["serve"],
    env: ["PATH=/usr/bin"],
    workingDir: "/app",
    user: "1000:1000",
  };
  const cases: Array<{ name: string; spec: () => OciSpec }> = [
    { name: "the default spec", spec: () => defaultSpec() },
    {
      name: "a typical runc sandbox",
      spec: () =>
        buildSpec(
          withImageConfig(image, { env: { TOKEN: "x" } }),
          withHostname("sbx-1"),
          withNetworkNamespace("/var/run/netns/sbx-1"),
          withResources({ cpuMillis: 500, memoryBytes: 512 * 2 ** 20, pids: 256 }),
          withCgroupsPath("/fsb/sbx-1"),
          withShimGroup("agent-a"),
          withBindMount({ source: "/var/lib/fsb/sbx-1/workspace", destination: "/workspace" }),
        ),
    },
    {
      name: "a read-only gVisor sandbox",
      spec: () =>
        buildSpec(
          withImageConfig(image, { command: ["/bin/sh"] }),
          withNewNetworkNamespace(),
          withReadonlyRootfs(),
          withEnv({ EMPTY: "" }),
        ),
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => assert.doesNotThrow(() => validateSpec(tc.spec())));
  }
});

describe("validateSpec rejects", () => {
  const cases: Array<{ name: string; breakSpec: (spec: OciSpec) => void; code: ErrorCode; field: string }> = [
    {
      name: "empty args",
      breakSpec: (s) => {
        s.process.args = [];
      },
      code: ErrorCode.InvalidArgument,
      field: "process.args",
    },
    {
      name: "an empty program",
      breakSpec: (s) => {
        s.process.args = [""];
      },
      code: ErrorCode.InvalidArgument,
      field: "process.args[0]",
    },
    {
      name: "NUL in an arg",
      breakSpec: (s) => {
        s.process.args = ["sh", "\0"];
      },
      code: ErrorCode.InvalidArgument,
      field: "process.args[1]",
    },
    {
      name: "a relative cwd",
      breakSpec: (s) => {
        s.process.cwd = "app";
      },
      code: ErrorCode.InvalidArgument,
      field: "process.cwd",
    },
    {
      name: "a missing user",
      breakSpec: (s) => {
        Reflect.deleteProperty(s.process, "user");
      },
      code: ErrorCode.Internal,
      field: "process.user",
    },
    {
      name: "a negative uid",
      breakSpec: (s) => {
        s.process.user.uid = -1;
      },
      code: ErrorCode.InvalidArgument,
      field: "process.user",
    },
    {
      name: "an env entry without '='",
      breakSpec: (s) => {
        s.process.env.push("NOEQUALS");
      },
      code: ErrorCode.InvalidArgument,
      field: "process.env[1]",
    },
    {
      name: "an env entry with an empty name",
      breakSpec: (s) => {
        s.process.env.push("=x");
      },
      code: ErrorCode.InvalidArgument,
      field: "process.env[1]",
    },
    {
      name: "NUL in an env entry",
      breakSpec: (s) => {
        s.process.env.unshift("A=\0");
      },
      code: ErrorCode.InvalidArgument,
      field: "process.env[0]",
    },
    {
      name: "a capability outside the default set",
      breakSpec: (s) => {
        s.process.capabilities.effective.push("CAP_SYS_ADMIN");
      },
      code: ErrorCode.Internal,
      field: "process.capabilities.effective",
    },
    {
      name: "an ambient capability outside the default set",
      breakSpec: (s) => {
        s.process.capabilities.ambient = ["CAP_NET_ADMIN"];
      },
      code: ErrorCode.Internal,
      field: "process.capabilities.ambient",
    },
    {
      name: "an empty root path",
      breakSpec: (s) => {
        s.root.path = "";
      },
      code: ErrorCode.Internal,
      field: "root.path",
    },
    {
      name: "no /proc mount",
      breakSpec: (s) => {
        s.mounts = s.mounts.filter((m) => m.destination !== "/proc");
      },
      code: ErrorCode.Internal,
      field: "mounts",
    },
    {
      name: "no pid namespace",
      breakSpec: (s) => {
        s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== "pid");
      },
      code: ErrorCode.Internal,
      field: "linux.namespaces",
    },
    {
      name: "no mount namespace",
      breakSpec: (s) => {
        s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== "mount");
      },
      code: ErrorCode.Internal,
      field: "linux.namespaces",
    },
    {
      name: "a hostname without a uts namespace",
      breakSpec: (s) => {
        s.hostname = "a";
        s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== "uts");
      },
      code: ErrorCode.Internal,
      field: "hostname",
    },
    {
      name: "a relative cgroups path",
      breakSpec: (s) => {
        s.linux.cgroupsPath = "fsb/a";
      },
      code: ErrorCode.Internal,
      field: "linux.cgroupsPath",
    },
    {
      name: "an empty annotation key",
      breakSpec: (s) => {
        s.annotations = { "": "x" };
      },
      code: ErrorCode.InvalidArgument,
      field: "annotations",
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const spec = defaultSpec();
      tc.breakSpec(spec);
      assert.throws(
        () => validateSpec(spec),
        (err) => {
          assert.ok(err instanceof FsbError, `want FsbError, got ${err}`);
          assert.equal(err.code, tc.code);
          assert.equal(err.field, tc.field);
          return true;
        },
      );
    });
  }
});

// Unit tests of buildSandboxOciSpec: hostname, shim group, cgroup, network modes, resources and the command line.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, FsbError } from "@fast-sandbox/api";
import { shimGroup } from "../containerd/agent-grouping.ts";
import type { ImageConfig } from "../containerd/image-config-option.ts";
import { DEFAULT_PIDS_LIMIT, type OciSeccomp, type OciSpec } from "../containerd/oci-spec.ts";
import { runtimeDefaultSeccomp } from "../containerd/seccomp-profile.ts";
import { SHIM_GROUP_ANNOTATION } from "../containerd/spec-options.ts";
import { validateSpec } from "../containerd/validate-spec.ts";
import { buildSandboxOciSpec, type SandboxNetworking, type SpecContext } from "./build-oci-spec.ts";
import type { AgentSandboxSpec } from "./sandbox-spec.ts";

const image: ImageConfig = {
  entrypoint: ["/bin/entry"],
  cmd: ["serve", "--port=80"],
  env: ["PATH=/usr/bin:/bin", "MODE=image", "KEEP=1"],
  workingDir: "/app",
};

function sandbox(extra: Partial<AgentSandboxSpec> = {}): AgentSandboxSpec {
  return {
    sandboxId: "sbx-1",
    name: "web",
    namespace: "default",
    uid: "",
    pool: undefined,
    image: "docker.io/library/busybox:latest",
    command: [],
    args: [],
    env: {},
    workingDir: undefined,
    exposedPorts: [],
    resources: {},
    ...extra,
  };
}

const context: SpecContext = {
  agentId: "node-a",
  runtime: "container",
  network: { kind: "agent" },
  seccomp: { kind: "runtime-default" },
  agentPid: 4242,
};

const networkOf = (spec: OciSpec) => spec.linux.namespaces.filter((ns) => ns.type === "network");

describe("buildSandboxOciSpec identity and placement", () => {
  it("sets the hostname to the sandbox name", () => {
    assert.equal(buildSandboxOciSpec(sandbox({ name: "my-box" }), image, context).hostname, "my-box");
  });

  it("puts every sandbox of one agent in the shim group fsb-<agentId>", () => {
    const groups = ["sbx-1", "sbx-2", "other"].map(
      (sandboxId) =>
        buildSandboxOciSpec(sandbox({ sandboxId, name: sandboxId }), image, context).annotations?.[
          SHIM_GROUP_ANNOTATION
        ],
    );
    assert.equal(SHIM_GROUP_ANNOTATION, "io.containerd.runc.v2.group");
    assert.deepEqual(groups, ["fsb-node-a", "fsb-node-a", "fsb-node-a"]);
    assert.equal(shimGroup("node-a"), "fsb-node-a");
  });

  it("gives another agent's sandboxes another shim group", () => {
    const oci = buildSandboxOciSpec(sandbox(), image, { ...context, agentId: "node-b" });
    assert.equal(oci.annotations?.[SHIM_GROUP_ANNOTATION], "fsb-node-b");
  });

  const cgroups: Array<{ agentId: string; sandboxId: string; want: string }> = [
    { agentId: "node-a", sandboxId: "sbx-1", want: "/fast-sandbox/node-a/sbx-1" },
    { agentId: "node-b", sandboxId: "x", want: "/fast-sandbox/node-b/x" },
  ];
  for (const tc of cgroups) {
    it(`places ${tc.sandboxId} of ${tc.agentId} at ${tc.want}`, () => {
      const oci = buildSandboxOciSpec(sandbox({ sandboxId: tc.sandboxId }), image, {
        ...context,
        agentId: tc.agentId,
      });
      assert.equal(oci.linux.cgroupsPath, tc.want);
    });
  }

  it("produces a spec that passes validateSpec", () => {
    assert.doesNotThrow(() => validateSpec(buildSandboxOciSpec(sandbox(), image, context)));
  });
});

describe("buildSandboxOciSpec network", () => {
  const isolated: SandboxNetworking = { mode: "isolated", netnsPath: "/var/run/netns/fsb-10.213.0.5" };
  const cases: Array<{ name: string; context: SpecContext; network?: SandboxNetworking; want: unknown[] }> = [
    {
      name: "agent mode joins the agent's namespace at /proc/<pid>/ns/net",
      context,
      want: [{ type: "network", path: "/proc/4242/ns/net" }],
    },
    {
      name: "agent mode follows the given agent pid",
      context: { ...context, agentPid: 1 },
      want: [{ type: "network", path: "/proc/1/ns/net" }],
    },
    {
      name: "host mode has no network namespace",
      context: { ...context, network: { kind: "host" } },
      want: [],
    },
    {
      name: "path mode joins the given namespace",
      context: { ...context, network: { kind: "path", path: "/var/run/netns/sbx" } },
      want: [{ type: "network", path: "/var/run/netns/sbx" }],
    },
    {
      name: "isolated mode joins its prepared namespace",
      context,
      network: isolated,
      want: [{ type: "network", path: isolated.netnsPath }],
    },
    {
      name: "none mode gets a fresh namespace",
      context,
      network: { mode: "none" },
      want: [{ type: "network" }],
    },
    {
      name: "gvisor in isolated mode joins its prepared namespace (runsc's network stack takes it)",
      context: { ...context, runtime: "gvisor" },
      network: isolated,
      want: [{ type: "network", path: isolated.netnsPath }],
    },
    {
      name: "gvisor in none mode gets a fresh namespace",
      context: { ...context, runtime: "gvisor" },
      network: { mode: "none" },
      want: [{ type: "network" }],
    },
    {
      name: "gvisor in agent mode gets a fresh namespace, not the agent's",
      context: { ...context, runtime: "gvisor" },
      want: [{ type: "network" }],
    },
    {
      name: "gvisor gets a fresh namespace even in host mode",
      context: { ...context, runtime: "gvisor", network: { kind: "host" } },
      want: [{ type: "network" }],
    },
    {
      name: "gvisor gets a fresh namespace even in path mode",
      context: { ...context, runtime: "gvisor", network: { kind: "path", path: "/var/run/netns/sbx" } },
      want: [{ type: "network" }],
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const oci = buildSandboxOciSpec(sandbox(), image, tc.context, tc.network);
      assert.deepEqual(networkOf(oci), tc.want);
      // The other namespaces stay whatever the mode.
      for (const type of ["pid", "ipc", "uts", "mount"]) {
        assert.ok(
          oci.linux.namespaces.some((ns) => ns.type === type && ns.path === undefined),
          `private ${type} namespace`,
        );
      }
    });
  }
});

describe("buildSandboxOciSpec resources", () => {
  it("applies cpu, memory and pids", () => {
    const oci = buildSandboxOciSpec(
      sandbox({ resources: { cpuMillis: 500, memoryBytes: 64 * 1024 * 1024, pids: 100 } }),
      image,
      context,
    );
    assert.deepEqual(oci.linux.resources.cpu, { shares: 512, quota: 50_000, period: 100_000 });
    assert.deepEqual(oci.linux.resources.memory, { limit: 64 * 1024 * 1024 });
    assert.deepEqual(oci.linux.resources.pids, { limit: 100 });
  });

  it("leaves cpu and memory unlimited and pids at the default without resources", () => {
    const oci = buildSandboxOciSpec(sandbox(), image, context);
    assert.equal(oci.linux.resources.cpu, undefined);
    assert.equal(oci.linux.resources.memory, undefined);
    assert.deepEqual(oci.linux.resources.pids, { limit: DEFAULT_PIDS_LIMIT });
  });
});

describe("buildSandboxOciSpec process (Kubernetes command/args semantics)", () => {
  const cases: Array<{ name: string; extra: Partial<AgentSandboxSpec>; args: string[] }> = [
    { name: "neither: image entrypoint then cmd", extra: {}, args: ["/bin/entry", "serve", "--port=80"] },
    {
      name: "command only: replaces entrypoint, drops cmd",
      extra: { command: ["/bin/sh"] },
      args: ["/bin/sh"],
    },
    { name: "args only: entrypoint then args", extra: { args: ["check"] }, args: ["/bin/entry", "check"] },
    {
      name: "command and args: both replaced",
      extra: { command: ["/bin/sh"], args: ["-c", "true"] },
      args: ["/bin/sh", "-c", "true"],
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      assert.deepEqual(buildSandboxOciSpec(sandbox(tc.extra), image, context).process.args, tc.args);
    });
  }

  it("merges the user's env over the image env", () => {
    const oci = buildSandboxOciSpec(sandbox({ env: { MODE: "user", EXTRA: "x" } }), image, context);
    assert.deepEqual(oci.process.env, ["PATH=/usr/bin:/bin", "MODE=user", "KEEP=1", "EXTRA=x"]);
  });

  const cwds: Array<{ name: string; workingDir: string | undefined; config: ImageConfig; want: string }> = [
    { name: "the image working directory by default", workingDir: undefined, config: image, want: "/app" },
    { name: "the sandbox working directory when given", workingDir: "/srv", config: image, want: "/srv" },
    {
      name: "/ when neither gives one",
      workingDir: undefined,
      config: { ...image, workingDir: undefined },
      want: "/",
    },
  ];
  for (const tc of cwds) {
    it(`runs in ${tc.name}`, () => {
      assert.equal(
        buildSandboxOciSpec(sandbox({ workingDir: tc.workingDir }), tc.config, context).process.cwd,
        tc.want,
      );
    });
  }

  it("runs an image without a default command when a command is given", () => {
    const oci = buildSandboxOciSpec(sandbox({ command: ["/bin/true"] }), {}, context);
    assert.deepEqual(oci.process.args, ["/bin/true"]);
  });

  const noCommand: Array<{ name: string; config: ImageConfig; extra: Partial<AgentSandboxSpec> }> = [
    { name: "an empty image config and no command", config: {}, extra: {} },
    { name: "empty entrypoint and cmd and no command", config: { entrypoint: [], cmd: [] }, extra: {} },
    { name: "no command and only empty overrides", config: {}, extra: { command: [], args: [] } },
  ];
  for (const tc of noCommand) {
    it(`${tc.name} → INVALID_ARGUMENT on command`, () => {
      assert.throws(
        () => buildSandboxOciSpec(sandbox(tc.extra), tc.config, context),
        (err) => {
          assert.ok(err instanceof FsbError, `want FsbError, got ${err}`);
          assert.equal(err.code, ErrorCode.InvalidArgument);
          assert.equal(err.field, "command");
          return true;
        },
      );
    });
  }
});

describe("buildSandboxOciSpec: the node's busybox", () => {
  const spec: AgentSandboxSpec = {
    sandboxId: "sb-1",
    name: "box",
    namespace: "default",
    uid: "",
    pool: undefined,
    workingDir: undefined,
    image: "docker.io/library/busybox:latest",
    command: ["sleep", "600"],
    args: [],
    env: {},
    exposedPorts: [],
    resources: {},
  };
  const context = {
    agentId: "agent-1",
    runtime: "container" as const,
    network: { kind: "host" as const },
    seccomp: { kind: "runtime-default" as const },
    agentPid: 1,
  };

  it("is bind-mounted read-only at /.fsb/busybox when the agent has one", () => {
    const oci = buildSandboxOciSpec(spec, {}, { ...context, busybox: "/anchor/rootfs-abc/bin/busybox" });
    const mount = oci.mounts.find((m) => m.destination === "/.fsb/busybox");
    assert.equal(mount?.source, "/anchor/rootfs-abc/bin/busybox");
    assert.equal(mount?.type, "bind");
    assert.ok(mount?.options?.includes("ro"));
    assert.ok(mount?.options?.includes("nosuid"));
  });

  it("is left out when the agent has none", () => {
    const oci = buildSandboxOciSpec(spec, {}, context);
    assert.equal(
      oci.mounts.find((m) => m.destination === "/.fsb/busybox"),
      undefined,
    );
  });
});

describe("buildSandboxOciSpec seccomp", () => {
  const own: OciSeccomp = {
    defaultAction: "SCMP_ACT_LOG",
    syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }],
  };
  const cases: Array<{ name: string; seccomp: SpecContext["seccomp"]; want: OciSeccomp | undefined }> = [
    {
      name: "runtime-default gets the built-in profile",
      seccomp: { kind: "runtime-default" },
      want: runtimeDefaultSeccomp(),
    },
    { name: "unconfined gets no filter", seccomp: { kind: "unconfined" }, want: undefined },
    {
      name: "a profile file's profile is used as read",
      seccomp: { kind: "localhost", path: "/etc/fsb/profile.json", profile: own },
      want: own,
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const oci = buildSandboxOciSpec(sandbox(), image, { ...context, seccomp: tc.seccomp });
      assert.deepEqual(oci.linux.seccomp, tc.want);
    });
  }

  it("gives every spec its own copy of the profile", () => {
    const a = buildSandboxOciSpec(sandbox(), image, context);
    const b = buildSandboxOciSpec(sandbox(), image, context);
    assert.notEqual(a.linux.seccomp, b.linux.seccomp);
    a.linux.seccomp?.syscalls?.[0]?.names.push("mount");
    assert.deepEqual(b.linux.seccomp, runtimeDefaultSeccomp());
  });
});

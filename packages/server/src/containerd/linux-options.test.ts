import { ErrorCode } from "@fast-sandbox/api";
import {
  withCgroupsPath,
  withHostNetwork,
  withNetworkNamespace,
  withNewNetworkNamespace,
  withoutSeccomp,
  withResources,
  withSeccomp,
} from "./linux-options.ts";
import { DEFAULT_PIDS_LIMIT, defaultSpec, type OciSeccomp, type OciSpec } from "./oci-spec.ts";
import { type ApplyCase, describeOptionCases, onBareSpec, type RejectCase } from "./option-test-cases.ts";

const ns = (spec: OciSpec) => spec.linux.namespaces;

const profile = (): OciSeccomp => ({
  defaultAction: "SCMP_ACT_ERRNO",
  defaultErrnoRet: 1,
  architectures: ["SCMP_ARCH_X86_64"],
  syscalls: [
    { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
    {
      names: ["clone"],
      action: "SCMP_ACT_ALLOW",
      args: [{ index: 0, value: 2, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    },
  ],
});

const applyCases: ApplyCase[] = [
  {
    name: "withNetworkNamespace adds a network namespace with a path",
    options: () => [withNetworkNamespace("/var/run/netns/a")],
    got: ns,
    want: [
      { type: "pid" },
      { type: "ipc" },
      { type: "uts" },
      { type: "mount" },
      { type: "network", path: "/var/run/netns/a" },
    ],
  },
  {
    name: "withNetworkNamespace replaces an existing one",
    options: () => [withNetworkNamespace("/var/run/netns/a"), withNetworkNamespace("/var/run/netns/b")],
    got: (s) => ns(s).filter((n) => n.type === "network"),
    want: [{ type: "network", path: "/var/run/netns/b" }],
  },
  {
    name: "withHostNetwork on a bare spec keeps the other namespaces",
    options: () => [withHostNetwork()],
    got: ns,
    want: defaultSpec().linux.namespaces,
  },
  {
    name: "withHostNetwork removes a network namespace",
    options: () => [withNetworkNamespace("/var/run/netns/a"), withHostNetwork()],
    got: ns,
    want: defaultSpec().linux.namespaces,
  },
  {
    name: "withNewNetworkNamespace adds a pathless network namespace",
    options: () => [withNewNetworkNamespace()],
    got: (s) => ns(s).at(-1),
    want: { type: "network" },
  },
  {
    name: "withNewNetworkNamespace replaces a joined one",
    options: () => [withNetworkNamespace("/var/run/netns/a"), withNewNetworkNamespace()],
    got: (s) => ns(s).filter((n) => n.type === "network"),
    want: [{ type: "network" }],
  },
  {
    name: "withResources sets half a core",
    options: () => [withResources({ cpuMillis: 500 })],
    got: (s) => s.linux.resources.cpu,
    want: { shares: 512, quota: 50_000, period: 100_000 },
  },
  {
    name: "withResources sets two cores",
    options: () => [withResources({ cpuMillis: 2000 })],
    got: (s) => s.linux.resources.cpu,
    want: { shares: 2048, quota: 200_000, period: 100_000 },
  },
  {
    name: "withResources rounds shares",
    options: () => [withResources({ cpuMillis: 250 })],
    got: (s) => s.linux.resources.cpu?.shares,
    want: 256,
  },
  {
    name: "withResources keeps shares and quota at the kernel minimums",
    options: () => [withResources({ cpuMillis: 1 })],
    got: (s) => s.linux.resources.cpu,
    want: { shares: 2, quota: 1000, period: 100_000 },
  },
  {
    name: "withResources sets memory",
    options: () => [withResources({ memoryBytes: 256 * 2 ** 20 })],
    got: (s) => s.linux.resources.memory,
    want: { limit: 268_435_456 },
  },
  {
    name: "withResources overrides the pids limit",
    options: () => [withResources({ pids: 64 })],
    got: (s) => s.linux.resources.pids,
    want: { limit: 64 },
  },
  {
    name: "withResources leaves unnamed limits alone",
    options: () => [withResources({})],
    got: (s) => [s.linux.resources.cpu, s.linux.resources.memory, s.linux.resources.pids],
    want: [undefined, undefined, { limit: DEFAULT_PIDS_LIMIT }],
  },
  {
    name: "a bare spec has no seccomp filter",
    options: () => [],
    got: (s) => s.linux.seccomp,
    want: undefined,
  },
  {
    name: "withSeccomp sets the profile",
    options: () => [withSeccomp(profile())],
    got: (s) => s.linux.seccomp,
    want: profile(),
  },
  {
    name: "withSeccomp copies the profile: changing the caller's object later leaves the spec alone",
    options: () => {
      const given = profile();
      const option = withSeccomp(given);
      given.syscalls?.[0]?.names.push("mount");
      return [option];
    },
    got: (s) => s.linux.seccomp?.syscalls?.[0]?.names,
    want: ["read", "write"],
  },
  {
    name: "withSeccomp replaces an earlier profile",
    options: () => [withSeccomp(profile()), withSeccomp({ defaultAction: "SCMP_ACT_LOG" })],
    got: (s) => s.linux.seccomp,
    want: { defaultAction: "SCMP_ACT_LOG" },
  },
  {
    name: "withoutSeccomp removes a profile",
    options: () => [withSeccomp(profile()), withoutSeccomp()],
    got: (s) => "seccomp" in s.linux,
    want: false,
  },
  {
    name: "withoutSeccomp on a bare spec changes nothing",
    options: () => [withoutSeccomp()],
    got: (s) => s.linux,
    want: defaultSpec().linux,
  },
  {
    name: "withCgroupsPath sets the path",
    options: () => [withCgroupsPath("/fsb/abc")],
    got: (s) => s.linux.cgroupsPath,
    want: "/fsb/abc",
  },
];

const rejectCases: RejectCase[] = [
  {
    name: "withNetworkNamespace rejects a relative path",
    run: onBareSpec(() => withNetworkNamespace("netns/a")),
    code: ErrorCode.InvalidArgument,
    field: "networkNamespace",
  },
  {
    name: "withResources rejects zero cpu",
    run: onBareSpec(() => withResources({ cpuMillis: 0 })),
    code: ErrorCode.InvalidArgument,
    field: "resources.cpuMillis",
  },
  {
    name: "withResources rejects fractional millicores",
    run: onBareSpec(() => withResources({ cpuMillis: 0.5 })),
    code: ErrorCode.InvalidArgument,
    field: "resources.cpuMillis",
  },
  {
    name: "withResources rejects negative memory",
    run: onBareSpec(() => withResources({ memoryBytes: -1 })),
    code: ErrorCode.InvalidArgument,
    field: "resources.memoryBytes",
  },
  {
    name: "withResources rejects NaN pids",
    run: onBareSpec(() => withResources({ pids: Number.NaN })),
    code: ErrorCode.InvalidArgument,
    field: "resources.pids",
  },
  {
    name: "withCgroupsPath rejects a relative path",
    run: onBareSpec(() => withCgroupsPath("fsb/a")),
    code: ErrorCode.InvalidArgument,
    field: "cgroupsPath",
  },
  {
    name: "withCgroupsPath rejects the root",
    run: onBareSpec(() => withCgroupsPath("/")),
    code: ErrorCode.InvalidArgument,
    field: "cgroupsPath",
  },
  {
    name: "withCgroupsPath rejects '..'",
    run: onBareSpec(() => withCgroupsPath("/fsb/../x")),
    code: ErrorCode.InvalidArgument,
    field: "cgroupsPath",
  },
  {
    name: "withSeccomp rejects a rule without names",
    run: onBareSpec(() =>
      withSeccomp({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: [], action: "SCMP_ACT_ALLOW" }] }),
    ),
    code: ErrorCode.InvalidArgument,
    field: "seccomp.syscalls[0].names",
  },
  {
    name: "withSeccomp rejects an empty name",
    run: onBareSpec(() =>
      withSeccomp({
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [{ names: ["read", ""], action: "SCMP_ACT_ALLOW" }],
      }),
    ),
    code: ErrorCode.InvalidArgument,
    field: "seccomp.syscalls[0].names",
  },
  {
    name: "withSeccomp rejects a seventh argument",
    run: onBareSpec(() =>
      withSeccomp({
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [
          { names: ["read"], action: "SCMP_ACT_ALLOW" },
          { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 6, value: 40, op: "SCMP_CMP_NE" }] },
        ],
      }),
    ),
    code: ErrorCode.InvalidArgument,
    field: "seccomp.syscalls[1].args[0].index",
  },
];

describeOptionCases("linux options", applyCases, rejectCases);
